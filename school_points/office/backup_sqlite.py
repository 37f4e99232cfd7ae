"""SQLite backups: a consistent copy by the online backup API, checked and counted on the copy itself.

`Connection.backup` copies the database page by page while the app keeps running, and starts over
if a writer changes it meanwhile, so the copy is one committed state. The manifest's figures are
read from that copy, never from the live file.
"""

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from school_points.office.backup_figures import measure
from school_points.office.backup_format import PAYLOAD_BY_ENGINE, BackupError

BUSY_TIMEOUT_SECONDS = 30


def database_path(url) -> Path:
    """The file a sqlite:/// URL names; BackupError for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("an in-memory SQLite database cannot be backed up or restored into: give a file path")
    return Path(database)


def dump(url, workdir) -> tuple[dict, Path, str]:
    """Copy the live database into `workdir`: (figures read from the copy, payload path, SQLite version)."""
    source_path = database_path(url)
    if not source_path.is_file():
        raise BackupError(f"the SQLite database {source_path} does not exist")
    payload = Path(workdir) / PAYLOAD_BY_ENGINE["sqlite"]
    try:
        source = sqlite3.connect(source_path, timeout=BUSY_TIMEOUT_SECONDS)
        copy = sqlite3.connect(payload)
        try:
            source.backup(copy)
            # One self-contained file: no -wal beside it once restored or opened elsewhere.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the SQLite database {source_path}: {exc}") from None
    return measure_file(payload), payload, f"SQLite {sqlite3.sqlite_version}"


def check(payload) -> dict:
    """PRAGMA integrity_check on the payload (an extracted copy), then its figures; BackupError if unreadable."""
    try:
        connection = sqlite3.connect(f"{Path(payload).resolve().as_uri()}?mode=ro", uri=True)
        try:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite payload cannot be read: {exc}") from None
    if result != ["ok"]:
        raise BackupError(f"the SQLite payload fails its integrity check: {'; '.join(result[:5])}")
    return measure_file(payload)


def measure_file(path) -> dict:
    """The manifest figures of a SQLite file."""
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return measure(conn)
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the SQLite file {path}: {exc.orig or exc}") from None
    finally:
        engine.dispose()


def non_empty_reason(url) -> str | None:
    """Why the file at `url` is not an empty target, or None (a missing file is empty)."""
    path = database_path(url)
    if not path.parent.is_dir():
        raise BackupError(f"the target folder {path.parent} does not exist")
    if not path.exists():
        return None
    if not path.is_file():
        return f"{path} is not a file"
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return f"{path} is not an empty SQLite database ({exc})"
    return f"it already holds tables ({', '.join(sorted(tables)[:5])})" if tables else None


def restore(payload, url) -> None:
    """Copy the payload into the target file with the backup API (the target is empty or missing)."""
    target = database_path(url)
    try:
        source = sqlite3.connect(f"{Path(payload).resolve().as_uri()}?mode=ro", uri=True)
        destination = sqlite3.connect(target, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot write the SQLite database {target}: {exc}") from None
