# Every target uses .venv; no need to activate it. Operator commands other than these:
#   .venv/bin/flask --app wsgi <command>   (or `. .venv/bin/activate` once, then `flask --app wsgi <command>`)
.PHONY: run test lint install install-runtime migrate seed-demo points-check worker shell routes

install:          ## runtime + test tools into .venv (after pulling changes to requirements*.txt)
	scripts/bootstrap.sh dev
install-runtime:  ## only what the server needs
	scripts/bootstrap.sh runtime
run:              ## runtime requirements, migrate, demo school, serve on :$(PORT) (default 5000)
	scripts/run-dev.sh
test:             ## the whole suite: SQLite, then PostgreSQL + Redis when they answer
	scripts/test.sh
lint:             ## ruff with pyproject.toml's rules, and its formatter's check (the suite runs both)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

migrate:          ## flask db upgrade on DATABASE_URL (default: the SQLite file under instance/)
	.venv/bin/flask --app wsgi db upgrade
seed-demo:
	.venv/bin/flask --app wsgi seed-demo
points-check:     ## reconcile balances with the ledger and stock with orders (non-zero exit on a difference)
	.venv/bin/flask --app wsgi points check
worker:           ## the RQ worker (needs REDIS_URL)
	.venv/bin/flask --app wsgi worker
shell:
	.venv/bin/flask --app wsgi shell
routes:
	.venv/bin/flask --app wsgi routes
