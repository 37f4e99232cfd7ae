#!/usr/bin/env bash
# Install, migrate, seed the demo school and serve on the embedded default (SQLite, in-process jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export FLASK_APP=wsgi
PORT=${PORT:-5000}
.venv/bin/flask db upgrade
.venv/bin/flask seed-demo
cat <<MSG

School Points is running on the embedded default (SQLite file under instance/, jobs in-process):
  health          http://127.0.0.1:${PORT}/healthz
  admin API       http://127.0.0.1:${PORT}/api/admin/v1   (POST /auth/login with the demo admin above)
  mini-program    http://127.0.0.1:${PORT}/api/v1
  API docs        http://127.0.0.1:${PORT}/api/docs
  WeChat callback http://127.0.0.1:${PORT}/wechat
Stop with Ctrl-C.
MSG
exec .venv/bin/flask run --host 127.0.0.1 --port "$PORT" --with-threads
