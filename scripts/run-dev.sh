#!/usr/bin/env bash
# Install the runtime requirements, migrate, seed the demo school and serve on the embedded default
# (SQLite file under instance/ unless DATABASE_URL says otherwise, jobs in-process, no WeChat).
# PORT (default 5000) picks the port; docs/LOCAL_DEVELOPMENT.md walks through using it with curl.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh runtime
export FLASK_APP=wsgi
PORT=${PORT:-5000}
.venv/bin/flask db upgrade
.venv/bin/flask seed-demo
if [ "${APP_ENV:-development}" = development ] && [ -z "${WECHAT_MP_APP_ID:-}" ]; then
  dev_login="  dev login       POST /api/v1/auth/login {\"code\": \"dev:<name>\"} logs in the local user dev-<name> (no WeChat)"
else
  dev_login="  dev login       off (it needs APP_ENV=development and no WECHAT_MP_APP_ID)"
fi
cat <<MSG

School Points is running on the embedded default (jobs in-process, no WeChat needed):
  health          http://127.0.0.1:${PORT}/healthz
  admin API       http://127.0.0.1:${PORT}/api/admin/v1   (POST /auth/login with the demo admin above)
  staff console   http://127.0.0.1:${PORT}/console/   (sign in as admin / admin12345)
  mini-program    http://127.0.0.1:${PORT}/api/v1
${dev_login}
  API docs        http://127.0.0.1:${PORT}/api/docs
  WeChat callback http://127.0.0.1:${PORT}/wechat   (needs WECHAT_OA_TOKEN; see docs/LOCAL_DEVELOPMENT.md)
Stop with Ctrl-C.
MSG
exec .venv/bin/flask run --host 127.0.0.1 --port "$PORT" --with-threads
