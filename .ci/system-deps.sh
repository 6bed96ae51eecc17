#!/usr/bin/env bash
# Install the system packages the tests need (Debian): chromium for the browser tests, PostgreSQL 15.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! command -v initdb >/dev/null 2>&1 && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then need+=(postgresql-15); fi
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # huey's Redis backend (tests/test_jobs.py)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
