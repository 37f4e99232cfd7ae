#!/usr/bin/env bash
# Run the whole suite on the embedded default (SQLite, no Redis), then again on PostgreSQL + Redis
# when they answer (CI=true or REQUIRE_SERVICES=1 makes their absence a failure).
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/pytest ] || scripts/bootstrap.sh
PG_URL=${TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/school_points_test}
REDIS=${TEST_REDIS:-redis://127.0.0.1:6379/9}
require=${REQUIRE_SERVICES:-${CI:-}}

echo "== suite on the embedded default (SQLite, jobs in-process)"
env -u TEST_DATABASE_URL -u TEST_REDIS_URL .venv/bin/pytest "$@"
sqlite_rc=$?

services_up=1
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || services_up=0
(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG) || services_up=0
if [ "$services_up" = 1 ]; then
  echo "== suite on PostgreSQL + Redis"
  TEST_DATABASE_URL=$PG_URL TEST_REDIS_URL=$REDIS .venv/bin/pytest "$@"
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
