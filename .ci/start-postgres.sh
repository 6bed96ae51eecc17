#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 server on loopback for the tests; prints the URL to use.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || dirname "$(command -v initdb)")
PGDATA=${PGDATA:-/tmp/paperfeed-pg}
PGPORT=${PGPORT:-54329}
if ! "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  rm -rf "$PGDATA"
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA" 2>/dev/null || true
  RUN=""
  if [ "$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; fi
  $RUN "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
  $RUN "$PGBIN/pg_ctl" -D "$PGDATA" -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" -l "$PGDATA/log" -w start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"
