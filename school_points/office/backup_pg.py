"""PostgreSQL backups: pg_dump (custom format) on an exported snapshot, pg_restore into an empty database.

The manifest's figures are read in a REPEATABLE READ, READ ONLY transaction that also exports its
snapshot (`pg_export_snapshot()`); pg_dump is given that snapshot (`--snapshot`) and runs while the
transaction stays open, so the figures and the dump describe the same instant however many
redemptions commit meanwhile. The password goes to pg_dump and pg_restore in PGPASSWORD, never on a
command line (which `ps` shows), and is blanked from any message they print.
"""

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from school_points.office.backup_figures import measure
from school_points.office.backup_format import PAYLOAD_BY_ENGINE, BackupError

# Relations whose presence makes a database "not empty" for a restore.
_USER_RELATIONS = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY 1 LIMIT 5
"""


def dump(url, workdir, on_snapshot=None) -> tuple[dict, Path, str]:
    """Dump the database at `url` into `workdir`: (figures, payload path, pg_dump's version line)."""
    payload = Path(workdir) / PAYLOAD_BY_ENGINE["postgresql"]
    conninfo, env = connection_settings(url)
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
                figures = measure(conn)
                if on_snapshot is not None:
                    on_snapshot()
                _run(
                    ["pg_dump", "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={payload}"]
                    + [f"--dbname={conninfo}"],
                    env,
                    url,
                )
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the database: {_scrub(str(exc.orig or exc), url)}") from None
    finally:
        engine.dispose()
    return figures, payload, tool_version("pg_dump")


def table_data_entries(payload) -> list[str]:
    """Names of the tables whose rows the dump holds (`pg_restore --list`); BackupError if unreadable."""
    listing = _run(["pg_restore", "--list", str(payload)], dict(os.environ), None)
    names = []
    for line in listing.splitlines():
        if line.startswith(";") or " TABLE DATA " not in line:
            continue
        # "3401; 0 16390 TABLE DATA public ledger_entry owner"
        parts = line.split(" TABLE DATA ", 1)[1].split()
        if len(parts) >= 2:
            names.append(parts[1])
    return names


def non_empty_reason(url) -> str | None:
    """Why the database at `url` is not an empty target (the first relations found), or None."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text(_USER_RELATIONS)).scalars().all()
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot connect to the target database: {_scrub(str(exc.orig or exc), url)}") from None
    finally:
        engine.dispose()
    return f"it already holds tables ({', '.join(found)}{', ...' if len(found) == 5 else ''})" if found else None


def restore(payload, url) -> None:
    """Load the dump into the (empty) database at `url` in one transaction; nothing is left on failure."""
    conninfo, env = connection_settings(url)
    _run(
        ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "--no-password"]
        + [f"--dbname={conninfo}", str(payload)],
        env,
        url,
    )


def connection_settings(url) -> tuple[str, dict]:
    """A libpq connection string without the password, and the environment carrying the password."""
    parsed = make_url(url)
    fields = {"host": parsed.host, "port": parsed.port, "user": parsed.username, "dbname": parsed.database}
    for key, value in parsed.query.items():
        fields[key] = value[-1] if isinstance(value, tuple) else value
    conninfo = " ".join(f"{key}={_quoted(value)}" for key, value in fields.items() if value not in (None, ""))
    env = dict(os.environ, PGAPPNAME="school-points-backup")
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return conninfo, env


def tool_version(name) -> str:
    """`pg_dump --version`'s line, or BackupError when the tool is not installed."""
    return _run([name, "--version"], dict(os.environ), None).strip()


def _run(args, env, url):
    if shutil.which(args[0], path=env.get("PATH")) is None:
        raise BackupError(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)")
    result = subprocess.run(args, env=env, capture_output=True, text=True, errors="replace")
    if result.returncode != 0:
        message = _scrub(result.stderr.strip() or f"exit status {result.returncode}", url)
        raise BackupError(f"{args[0]} failed: {message}")
    return result.stdout


def _engine(url):
    return create_engine(url, poolclass=NullPool)


def _scrub(message, url):
    password = make_url(url).password if url else None
    return message.replace(password, "***") if password else message


def _quoted(value):
    value = str(value)
    if value and not any(ch in value for ch in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
