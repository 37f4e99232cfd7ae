#!/usr/bin/env bash
# Run the whole suite on the embedded default (SQLite, no Redis), then again on PostgreSQL + Redis
# when they answer (CI=true or REQUIRE_SERVICES=1 makes their absence a failure).
# Each run is split over TEST_WORKERS pytest-xdist processes (default 2; 0 runs in one process),
# each with a database and a Redis of its own (tests/conftest.py). Unless TEST_PG_URL and
# TEST_REDIS are given, the PostgreSQL database and the Redis db are named after this checkout
# (tests/services.py), so two clones on one machine do not empty each other's.
# Arguments go to pytest: scripts/test.sh -k redemption -x
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/pytest ] || scripts/bootstrap.sh
WORKERS=${TEST_WORKERS:-2}
PG_URL=${TEST_PG_URL:-$(.venv/bin/python -m tests.services pg)}
REDIS=${TEST_REDIS:-$(.venv/bin/python -m tests.services redis "$WORKERS")}
require=${REQUIRE_SERVICES:-${CI:-}}
# Keep compiled modules (and pytest's rewritten tests) under .pycache/ in this checkout, even where
# the environment says not to write bytecode: otherwise every xdist worker of every run compiles
# every module again (~4 s CPU each, measured); nothing is written next to the sources or the venv.
export PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX="$PWD/.pycache"
parallel=(-n "$WORKERS")
if ! .venv/bin/python -c "import xdist" 2>/dev/null; then
  echo "== pytest-xdist is not installed (run make install): one process per run" >&2
  parallel=()
fi

echo "== suite on the embedded default (SQLite, jobs in-process), $WORKERS workers"
env -u TEST_DATABASE_URL -u TEST_REDIS_URL .venv/bin/pytest "${parallel[@]}" "$@"
sqlite_rc=$?

services_up=1
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || services_up=0
(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG) || services_up=0
if [ "$services_up" = 1 ]; then
  echo "== suite on PostgreSQL ($PG_URL, one database per worker) + Redis (one redis-server per worker; $REDIS without workers)"
  TEST_DATABASE_URL=$PG_URL TEST_REDIS_URL=$REDIS .venv/bin/pytest "${parallel[@]}" "$@"
  pg_rc=$?
elif [ -n "$require" ] && [ "$require" != "0" ]; then
  echo "PostgreSQL or Redis is not reachable on 127.0.0.1 and this run requires them" >&2
  pg_rc=1
else
  echo "== PostgreSQL/Redis not reachable: skipped the PostgreSQL + Redis run (start them to include it)"
  pg_rc=0
fi
echo "== sqlite run exit $sqlite_rc, postgres run exit $pg_rc"
[ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]
