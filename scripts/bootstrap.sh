#!/usr/bin/env bash
# Create .venv and install the project's Python dependencies:
#   scripts/bootstrap.sh runtime   only what the server needs (requirements.txt): `make run`
#   scripts/bootstrap.sh [dev]     runtime + test and benchmark tools (requirements-dev.txt):
#                                  `make install`, `make test`, CI (the default, so old callers keep working)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-dev}" in
  runtime) requirements=requirements.txt ;;
  dev) requirements=requirements-dev.txt ;;
  *) echo "usage: scripts/bootstrap.sh [runtime|dev]" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r "$requirements"
