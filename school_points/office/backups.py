"""Backups you can trust: make one file, verify it, restore it into an empty database (docs/BACKUPS.md).

`create_backup` writes the archive (backup_format) holding the payload of the engine's own tool
(backup_pg, backup_sqlite) and a manifest of figures measured on the very state the payload holds;
`checked_backup` proves a file is whole and readable; `restore_backup` loads it into an empty
database, then measures that database against the manifest and runs the `points check`
reconciliation there. The nightly job keeps the newest BACKUP_KEEP files it made in BACKUP_DIR.
"""

import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from school_points.accounts.reconcile import find_differences
from school_points.office import backup_pg, backup_sqlite
from school_points.office.backup_figures import differences, measure
from school_points.office.backup_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    BackupError,
    OpenedBackup,
    open_backup,
    read_manifest,
    write_backup,
)
from school_points.platform import clock
from school_points.platform.config import normalize_database_url
from school_points.platform.extensions import db

log = logging.getLogger(__name__)
ENGINES = ("postgresql", "sqlite")
NAME_PATTERN = re.compile(r"^school-points-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar$")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# The nightly job runs hourly and makes the day's backup at its first run from this school-local hour.
NIGHTLY_FROM_HOUR = 2

__all__ = ["BackupError", "checked_backup", "create_backup", "nightly_backup", "prune", "redact", "restore_backup"]


@dataclass
class RestoreReport:
    """What a restore found: figures that differ from the manifest and `points check` lines (both empty: clean)."""

    manifest: dict
    figure_differences: list[str] = field(default_factory=list)
    check_differences: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when the restored database matches the manifest and reconciles."""
        return not self.figure_differences and not self.check_differences


def create_backup(path=None, *, directory=None, database_url=None, on_snapshot=None) -> tuple[Path, dict]:
    """Back up the database into one new file: `path`, or a timestamped name in `path` or `directory`.

    `on_snapshot` (tests) is called once the manifest's figures are read, before the payload is made.
    """
    url = database_url or db.engine.url.render_as_string(hide_password=False)
    engine = engine_of(url)
    now = clock.utcnow()
    destination = _destination(path, directory, now)
    with tempfile.TemporaryDirectory(prefix=".backup-work-", dir=destination.parent) as work:
        if engine == "postgresql":
            figures, payload, tool = backup_pg.dump(url, work, on_snapshot=on_snapshot)
        else:
            figures, payload, tool = backup_sqlite.dump(url, work)
            if on_snapshot is not None:
                on_snapshot()
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "engine": engine,
            "created_at": now.isoformat(),
            "made_with": tool,
            "source": redact(url),
            **figures,
            "payload": {},
        }
        written = write_backup(destination, manifest, payload)
    return written, read_manifest(written) or manifest


@contextmanager
def checked_backup(path) -> Iterator[OpenedBackup]:
    """Open a backup after checking its structure, checksums and payload; BackupError says what is wrong."""
    with tempfile.TemporaryDirectory(prefix="school-points-verify-") as work, open_backup(path, work) as opened:
        manifest = opened.manifest
        if manifest["engine"] == "postgresql":
            dumped = set(backup_pg.table_data_entries(opened.payload))
            missing = sorted(set(manifest["tables"]) - dumped)
            if missing:
                raise BackupError(f"{path}: the dump lacks the rows of table(s) {', '.join(missing)}")
        else:
            found = differences(manifest, backup_sqlite.check(opened.payload))
            if found:
                raise BackupError(f"{path}: the payload does not match its manifest: " + "; ".join(found))
        yield opened


def restore_backup(path, database_url) -> RestoreReport:
    """Restore a verified backup into the empty database at `database_url`, then measure and reconcile it."""
    url = _parse_target(database_url)
    engine = engine_of(url)
    with checked_backup(path) as opened:
        if opened.manifest["engine"] != engine:
            raise BackupError(
                f"{path} is a {opened.manifest['engine']} backup; the target {redact(url)} is {engine}: refused"
            )
        tool = backup_pg if engine == "postgresql" else backup_sqlite
        if (reason := tool.non_empty_reason(url)) is not None:
            raise BackupError(f"the target {redact(url)} is not empty: {reason}; restore only into an empty database")
        tool.restore(opened.payload, url)
        report = RestoreReport(opened.manifest)
    target = create_engine(url, poolclass=NullPool)
    try:
        with target.connect() as conn:
            report.figure_differences = differences(report.manifest, measure(conn))
        with Session(target) as session:
            report.check_differences = find_differences(session)
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the restored database {redact(url)}: {exc.orig or exc}") from None
    finally:
        target.dispose()
    return report


def nightly_backup() -> str | None:
    """The scheduler's hourly job: the day's backup into BACKUP_DIR (once a school day, from 02:00), then pruning."""
    directory = Path(current_app.config["BACKUP_DIR"])
    now = clock.utcnow()
    local_now = now.astimezone(clock.school_tz())
    if local_now.hour < NIGHTLY_FROM_HOUR:
        return None
    if any(stamp.astimezone(clock.school_tz()).date() == local_now.date() for stamp, _ in _own_backups(directory)):
        return None
    path, manifest = create_backup(directory=directory)
    removed = prune(directory, current_app.config["BACKUP_KEEP"])
    log.info(
        "nightly backup %s: %d table(s), balances %s; removed %d old backup(s)",
        path.name,
        len(manifest["tables"]),
        manifest["totals"].get("balance_sum"),
        len(removed),
    )
    return str(path)


def prune(directory, keep) -> list[Path]:
    """Delete all but the newest `keep` backups this tool made in `directory`; other files are never touched."""
    own = _own_backups(Path(directory))  # oldest first
    doomed = [path for _, path in own[: max(0, len(own) - keep)]]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def engine_of(url) -> str:
    """ "postgresql" or "sqlite" for a database URL; BackupError for anything else."""
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        raise BackupError(f"not a database URL: {redact(url)}") from None
    if backend not in ENGINES:
        raise BackupError(f"unsupported database {backend!r}: backups handle PostgreSQL and SQLite")
    return backend


def redact(url) -> str:
    """A database URL fit for a message: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unreadable URL>"


def default_name(now, directory) -> Path:
    """`school-points-YYYYMMDDTHHMMSSZ.tar` in `directory`, with -2, -3, ... if that name is taken."""
    stem = f"school-points-{now.strftime(STAMP_FORMAT)}"
    candidate, n = Path(directory) / f"{stem}.tar", 1
    while candidate.exists():
        n += 1
        candidate = Path(directory) / f"{stem}-{n}.tar"
    return candidate


def _destination(path, directory, now):
    if path is not None and Path(path).is_dir():
        directory, path = path, None
    if path is None:
        directory = Path(directory or current_app.config["BACKUP_DIR"])
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(f"cannot create the backup folder {directory}: {exc.strerror}") from None
        return default_name(now, directory)
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} already exists; a backup never overwrites a file")
    if not path.parent.is_dir():
        raise BackupError(f"the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise BackupError(f"the folder {path.parent} is not writable")
    return path


def _own_backups(directory):
    """(UTC time, path) of each file in `directory` this tool made (judged by name and manifest), oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = NAME_PATTERN.match(path.name)
        if match and path.is_file() and read_manifest(path) is not None:
            stamp = datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)
            found.append((stamp, int(match.group(2) or 1), path))
    return [(stamp, path) for stamp, _, path in sorted(found)]


def _parse_target(database_url):
    if not database_url or not str(database_url).strip():
        raise BackupError("--database-url is required: the empty database to restore into")
    url = normalize_database_url(str(database_url).strip())
    engine_of(url)
    try:
        create_engine(url, poolclass=NullPool).dispose()
    except (ArgumentError, NoSuchModuleError, ValueError, TypeError) as exc:
        raise BackupError(f"not a usable database URL {redact(url)}: {exc}") from None
    return url
