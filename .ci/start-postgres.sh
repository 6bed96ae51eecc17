#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 server on loopback for the tests; prints the URL to use.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || dirname "$(command -v initdb)")
PGDATA=${PGDATA:-/tmp/paperfeed-pg}
PGPORT=${PGPORT:-54329}
# pg_ctl refuses to run as root: every call goes through the postgres user then.
RUN=""
if [ "$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; fi
if ! $RUN "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  # Only wipe a data dir that no live server is using.
  pid=$(head -1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(ps -p "$pid" -o comm= 2>/dev/null)" = postgres ]; then
    echo "a server still runs on $PGDATA" >&2
    exit 1
  fi
  rm -rf "$PGDATA"
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA" 2>/dev/null || true
  $RUN "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
  $RUN "$PGBIN/pg_ctl" -D "$PGDATA" -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" -l "$PGDATA/log" -w start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"
