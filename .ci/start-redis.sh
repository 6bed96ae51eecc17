#!/usr/bin/env bash
# Start a throwaway Redis server on loopback for the job-queue tests (huey's Redis backend); prints the URL.
set -euo pipefail
REDIS_PORT=${REDIS_PORT:-63790}
REDIS_DIR=${REDIS_DIR:-/tmp/paperfeed-redis}
ping() { (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
if ! ping; then
  mkdir -p "$REDIS_DIR"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
    --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" >/dev/null
  for _ in $(seq 50); do ping && break; sleep 0.1; done
  ping || { echo "redis-server did not start (see $REDIS_DIR/redis.log)" >&2; exit 1; }
fi
echo "redis://127.0.0.1:$REDIS_PORT/0"
