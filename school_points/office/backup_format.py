"""The backup file: a plain tar archive of three members, in this order (docs/BACKUPS.md).

    manifest.json       what the backup holds: format, engine, schema revision, time, figures
    database.pgdump     PostgreSQL: pg_dump's custom format (-Fc)  | one or the other
    database.sqlite3    SQLite: a copy made by the online backup API |
    SHA256SUMS          `sha256sum` lines for manifest.json and the payload

`tar tf` lists it and `tar xf` + `sha256sum -c SHA256SUMS` checks it without this code. Reading it
here is strict: the members, their order and names, the bytes between them (tar's padding, which
no checksum covers, must be zeros) and the end-of-archive blocks are all checked, so a truncated
file or any altered byte is refused with a message naming what is wrong.
"""

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FORMAT_NAME = "school-points-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
PAYLOAD_BY_ENGINE = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
BLOCK = tarfile.BLOCKSIZE
CHUNK = 1024 * 1024
REQUIRED_KEYS = ("format", "format_version", "engine", "schema_revision", "created_at", "payload", "tables", "totals")


class BackupError(Exception):
    """A backup cannot be made, read or restored; the message says why (no traceback for operators)."""


@dataclass(frozen=True)
class OpenedBackup:
    """A backup whose structure and checksums were verified, with its payload extracted to a file."""

    path: Path
    manifest: dict
    payload: Path


def write_backup(destination, manifest, payload_path) -> Path:
    """Write the archive to `destination`, which must not exist (never overwritten); returns the path.

    The archive is written under a temporary name in the same folder, flushed to disk, then linked
    to its name, so a crash never leaves a half-written file under a backup's name.
    """
    destination = Path(destination)
    payload_path = Path(payload_path)
    payload_name = PAYLOAD_BY_ENGINE[manifest["engine"]]
    payload_hash, size = _hash_file(payload_path)
    manifest = {**manifest, "payload": {"name": payload_name, "size": size, "sha256": payload_hash}}
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    sums = f"{hashlib.sha256(manifest_bytes).hexdigest()}  {MANIFEST}\n{payload_hash}  {payload_name}\n".encode()
    fd, partial = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
                _add_bytes(archive, MANIFEST, manifest_bytes, manifest["created_at"])
                with payload_path.open("rb") as payload:
                    archive.addfile(_member(payload_name, size, manifest["created_at"]), payload)
                _add_bytes(archive, SUMS, sums, manifest["created_at"])
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, 0o600)  # a backup holds every family's data
        try:
            os.link(partial, destination)  # fails if the name exists: never overwrite
        except FileExistsError:
            raise BackupError(f"{destination} already exists; a backup never overwrites a file") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return destination


@contextmanager
def open_backup(path, workdir) -> Iterator[OpenedBackup]:
    """Check the archive's structure and checksums and extract its payload into `workdir`."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"{path}: no such file")
    if not path.is_file():
        raise BackupError(f"{path}: not a regular file (a backup is one file)")
    with path.open("rb") as raw:
        members = _members(raw, path)
        manifest_bytes = _read_member(raw, members[0])
        manifest = _parse_manifest(manifest_bytes, path)
        payload_name = PAYLOAD_BY_ENGINE[manifest["engine"]]
        names = [m.name for m in members]
        if names != [MANIFEST, payload_name, SUMS]:
            raise BackupError(f"{path}: members {names}, expected {[MANIFEST, payload_name, SUMS]}")
        sums = _parse_sums(_read_member(raw, members[2]), path)
        payload = Path(workdir) / payload_name
        payload_hash = _extract(raw, members[1], payload)
    expected = {MANIFEST: hashlib.sha256(manifest_bytes).hexdigest(), payload_name: payload_hash}
    for name, digest in expected.items():
        if sums.get(name) != digest:
            raise BackupError(f"{path}: {name} does not match its checksum in {SUMS}: the file was altered or damaged")
    declared = manifest["payload"]
    if declared.get("sha256") != payload_hash or declared.get("size") != members[1].size:
        raise BackupError(f"{path}: the payload does not match the manifest's checksum or size")
    yield OpenedBackup(path, manifest, payload)


def read_manifest(path) -> dict | None:
    """The manifest of a file this tool made, or None for any other file (cheap: reads the first member)."""
    try:
        with Path(path).open("rb") as raw:
            header = tarfile.TarInfo.frombuf(raw.read(BLOCK), tarfile.ENCODING, "surrogateescape")
            if header.name != MANIFEST or not header.isreg() or header.size > CHUNK:
                return None
            manifest = json.loads(raw.read(header.size))
    except (OSError, tarfile.TarError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT_NAME else None


def _members(raw, path):
    size = os.fstat(raw.fileno()).st_size
    try:
        with tarfile.open(fileobj=raw, mode="r:") as archive:
            members = archive.getmembers()
    except (tarfile.TarError, EOFError, ValueError) as exc:
        raise BackupError(f"{path}: not a readable backup ({exc}): damaged, truncated or another file") from None
    if len(members) != 3 or members[0].name != MANIFEST:
        raise BackupError(f"{path}: not a school points backup (expected {MANIFEST} first and three members)")
    if not all(m.isreg() for m in members):
        raise BackupError(f"{path}: not a school points backup (a member is not a regular file)")
    end = members[-1].offset_data + _padded(members[-1].size)
    if size < end + 2 * BLOCK:
        raise BackupError(f"{path}: the file is truncated ({size} bytes, the archive needs {end + 2 * BLOCK})")
    _check_gaps(raw, members, size, path)
    return members


def _check_gaps(raw, members, size, path):
    """Every byte outside the member headers (tar checksums them) and data (SHA256SUMS) must be zero."""
    covered = [(m.offset, m.offset_data + m.size) for m in members]
    position = 0
    for start, stop in [*covered, (size, size)]:
        raw.seek(position)
        remaining = start - position
        while remaining > 0:
            chunk = raw.read(min(CHUNK, remaining))
            if not chunk:
                raise BackupError(f"{path}: the file is truncated")
            if chunk.count(0) != len(chunk):
                raise BackupError(f"{path}: unexpected bytes between or after the members: altered or damaged")
            remaining -= len(chunk)
        position = stop


def _read_member(raw, member):
    raw.seek(member.offset_data)
    data = raw.read(member.size)
    if len(data) != member.size:
        raise BackupError(f"member {member.name} is truncated")
    return data


def _extract(raw, member, target):
    raw.seek(member.offset_data)
    digest, remaining = hashlib.sha256(), member.size
    with open(target, "wb") as out:
        while remaining > 0:
            chunk = raw.read(min(CHUNK, remaining))
            if not chunk:
                raise BackupError(f"member {member.name} is truncated")
            digest.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def _parse_manifest(data, path):
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BackupError(f"{path}: {MANIFEST} is not valid JSON: the file was altered or damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise BackupError(f"{path}: not a school points backup ({MANIFEST} names another format)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path}: backup format version {manifest.get('format_version')!r}; this version of the code reads "
            f"version {FORMAT_VERSION} only"
        )
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        raise BackupError(f"{path}: {MANIFEST} lacks {', '.join(missing)}")
    if manifest["engine"] not in PAYLOAD_BY_ENGINE:
        raise BackupError(f"{path}: unknown database engine {manifest['engine']!r} in {MANIFEST}")
    if not isinstance(manifest["payload"], dict):
        raise BackupError(f"{path}: {MANIFEST} has no payload description")
    return manifest


def _parse_sums(data, path):
    sums = {}
    try:
        for line in data.decode("ascii").splitlines():
            digest, _, name = line.partition("  ")
            sums[name] = digest
    except UnicodeDecodeError:
        raise BackupError(f"{path}: {SUMS} is damaged") from None
    return sums


def _add_bytes(archive, name, data, created_at):
    archive.addfile(_member(name, len(data), created_at), io.BytesIO(data))


def _member(name, size, created_at):
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o600
    info.mtime = int(datetime.fromisoformat(created_at).timestamp())
    return info


def _hash_file(path):
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _padded(size):
    return (size + BLOCK - 1) // BLOCK * BLOCK
