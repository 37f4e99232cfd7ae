"""Image uploads: decoded in full, stored re-encoded without metadata, limited per user per day.

An upload is judged by decoding it, never by its name, declared type or first bytes: only a file
Pillow's JPEG, PNG or WebP decoder reads to the last pixel is kept, and what is kept is a fresh
encoding of those pixels. That drops EXIF (a phone photo's GPS position, time and device), XMP,
comments, colour profiles and anything appended after the image (polyglot files), and turns the
EXIF orientation into real pixels first so photos stay upright.
"""

import io
import os
import re
import secrets
import struct
from datetime import timedelta
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from school_points.models import Admin, Upload, WechatUser
from school_points.platform import clock
from school_points.platform.errors import DomainError, ValidationFailed
from school_points.platform.extensions import db

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Decoding needs about 4 bytes a pixel: 40 megapixels (a 48 MP phone's photos are 12 MP by default)
# keeps one decode under ~160 MB, so a small file that claims huge dimensions (a decompression
# bomb) is refused before any pixel is decoded. A module constant so tests can lower it.
MAX_IMAGE_PIXELS = 40_000_000
JPEG_QUALITY = 90
# Pillow decoder name -> our file extension; no other decoder is ever tried on an upload.
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MIME_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# Where the mini-program adapter serves uploads, below the deployment's public base URL.
UPLOADS_PATH = "/api/v1/uploads/"
# What Pillow's decoders raise on a damaged file (struct.error and SyntaxError from some headers).
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError)
_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
# A stored media entry that names an upload, whatever base it was stored under (a relative one from
# the official-account job, or an older PUBLIC_BASE_URL): views re-derive the URL from the name.
_STORED_MEDIA = re.compile(r"^(?:https?://[^\s?#]*)?/api/v1/uploads/([0-9a-f]{32}\.(?:jpg|png|webp))$")


class ImageTooLarge(DomainError):
    code, message, kind = "image_too_large", "图片不能超过 5 MB", "validation"


class NotAnImage(ValidationFailed):
    code, message = "unsupported_image", "只能上传 JPEG、PNG 或 WebP 图片"


class BrokenImage(ValidationFailed):
    code, message = "invalid_image", "图片已损坏或不完整，请重新选择"


class TooManyPixels(ValidationFailed):
    code, message = "image_too_many_pixels", "图片尺寸过大，请压缩后再上传"


class UploadQuotaExceeded(DomainError):
    code, message, kind = "upload_quota_exceeded", "今天上传的图片已达上限，请明天再试", "rate_limited"


class InvalidMedia(ValidationFailed):
    code, message = "invalid_media", "图片地址无效，请先通过上传接口上传图片"


def store_upload(user_id, stream, *, source="mp") -> Upload:
    """Check, clean and store an image sent by a user; returns its Upload row (the caller commits).

    Raises ImageTooLarge past 5 MB, UploadQuotaExceeded past the user's daily quota, NotAnImage,
    BrokenImage or TooManyPixels for anything that is not a whole JPEG, PNG or WebP image.
    """
    return _store(_Owner(Upload.user_id, WechatUser.id, user_id), stream, source)


def store_admin_upload(admin_id, stream) -> Upload:
    """A goods image sent by an admin: the same checks and clean-up as a family's upload, and the
    same daily quota, counted per admin."""
    return _store(_Owner(Upload.admin_id, Admin.id, admin_id), stream, "admin")


class _Owner:
    """Who an upload belongs to: the Upload column naming them, their row's id column, the id."""

    def __init__(self, column, row_id_column, owner_id) -> None:
        self.column, self.row_id_column, self.id = column, row_id_column, owner_id


def _store(owner, stream, source):
    data = stream.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(details={"file": ["图片不能超过 5 MB"], "max_bytes": MAX_IMAGE_BYTES})
    # A first look without the lock refuses an exhausted quota before spending a decode on it.
    _check_quota(owner, len(data))
    kind, clean = clean_image(data)
    _lock_owner(owner)
    _check_quota(owner, len(data))  # again under the lock: concurrent uploads queue here
    name = f"{secrets.token_hex(16)}.{kind}"
    # Written before the caller commits: if the commit fails, the file has no row and can never be
    # attached to a record (check_media needs the row); it is only unused disk space.
    _write(name, clean)
    upload = Upload(
        name=name,
        source=source,
        kind=kind,
        received_bytes=len(data),
        stored_bytes=len(clean),
        local_day=clock.local_today(),
        created_at=clock.utcnow(),
    )
    setattr(upload, owner.column.key, owner.id)
    db.session.add(upload)
    db.session.flush()
    return upload


def clean_image(data) -> tuple[str, bytes]:
    """(kind, bytes): the image decoded in full and re-encoded without metadata, upright."""
    image = _open(data)
    kind = FORMATS[image.format]
    try:
        image.load()  # every pixel: a truncated or corrupt file fails here, not in a parent's viewer
        image = ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        raise BrokenImage(details={"file": ["图片已损坏或不完整"]}) from None
    image = _plain_pixels(image, keep_alpha=kind != "jpg")
    image.info = {}  # nothing read from the file is written back
    out = io.BytesIO()
    if kind == "jpg":
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    elif kind == "png":
        image.save(out, "PNG")
    else:
        image.save(out, "WEBP", quality=JPEG_QUALITY)
    return kind, out.getvalue()


def _open(data):
    """The image opened (header only) and verified; refuses other formats and decompression bombs."""
    too_many = TooManyPixels(
        details={"file": [f"图片不能超过 {MAX_IMAGE_PIXELS // 10000} 万像素"], "max_pixels": MAX_IMAGE_PIXELS}
    )
    try:
        probe = Image.open(io.BytesIO(data), formats=list(FORMATS))
        width, height = probe.size
        if width * height > MAX_IMAGE_PIXELS:
            raise too_many
        probe.verify()  # structure and checksums (PNG chunk CRCs); the image is unusable after it
        return Image.open(io.BytesIO(data), formats=list(FORMATS))
    except UnidentifiedImageError:
        if _looks_like_ours(data[:16]):  # the right magic bytes, but no decoder can read what follows
            raise BrokenImage(details={"file": ["图片已损坏或不完整"]}) from None
        raise NotAnImage(details={"file": ["只能上传 JPEG、PNG 或 WebP 图片"]}) from None
    except Image.DecompressionBombError:  # Pillow's own, far higher limit, hit while opening
        raise too_many from None
    except _DECODE_ERRORS:
        raise BrokenImage(details={"file": ["图片已损坏或不完整"]}) from None


def _looks_like_ours(head):
    """Whether the first bytes claim JPEG, PNG or WebP (only to choose the error's wording)."""
    return head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (
        len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    )


def _plain_pixels(image, *, keep_alpha):
    """The pixels in a mode every viewer shows alike: RGB, or RGBA where the format keeps alpha."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if has_alpha and keep_alpha:
        return image.convert("RGBA") if image.mode != "RGBA" else image
    if has_alpha:  # JPEG has no alpha: flatten onto white, as a viewer would show it
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


# --- the daily quota ------------------------------------------------------------------------------


def daily_limits() -> tuple[int, int]:
    """(files, bytes) a user may upload per school day (UPLOAD_DAILY_FILES, UPLOAD_DAILY_BYTES)."""
    config = current_app.config
    return int(config.get("UPLOAD_DAILY_FILES", 50)), int(config.get("UPLOAD_DAILY_BYTES", 100 * 1024 * 1024))


def uploaded_today(user_id, *, column=None) -> tuple[int, int]:
    """(files, bytes received) the user (or, with `column=Upload.admin_id`, the admin) uploaded on
    today's school day."""
    column = Upload.user_id if column is None else column
    files, size = db.session.execute(
        select(func.count(Upload.id), func.coalesce(func.sum(Upload.received_bytes), 0)).where(
            column == user_id, Upload.local_day == clock.local_today()
        )
    ).one()
    return int(files), int(size)


def _check_quota(owner, size):
    max_files, max_bytes = daily_limits()
    files, used = uploaded_today(owner.id, column=owner.column)
    if files + 1 > max_files or used + size > max_bytes:
        retry_after = max(1, int((clock.day_end(clock.local_today()) - clock.utcnow()) / timedelta(seconds=1)))
        raise UploadQuotaExceeded(
            details={
                "retry_after": retry_after,
                "max_files": max_files,
                "max_bytes": max_bytes,
                "files_today": files,
                "bytes_today": used,
            }
        )


def _lock_owner(owner):
    """Serialise one owner's uploads (row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    db.session.execute(select(owner.row_id_column).where(owner.row_id_column == owner.id).with_for_update())


# --- files and their URLs -------------------------------------------------------------------------


def _write(name, data):
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{name}.part"
    temporary.write_bytes(data)
    os.replace(temporary, directory / name)


def stored_path(name) -> Path | None:
    """The path of a stored upload, or None for a name we never gave out."""
    if not _NAME.match(name or ""):
        return None
    path = upload_dir() / name
    return path if path.is_file() else None


def upload_dir() -> Path:
    """Where uploads live (UPLOAD_DIR)."""
    return Path(current_app.config["UPLOAD_DIR"])


def upload_url(name, base) -> str:
    """The URL an upload is served at under a deployment's public base URL ('' gives a path)."""
    return base + UPLOADS_PATH + name


def check_media(urls, user_id, base) -> list[str]:
    """Growth-record media: each must be the exact URL we issued (under `base`) for an upload of
    this user that exists; raises InvalidMedia naming the others by index."""
    names, bad = [], {}
    for index, url in enumerate(urls):
        name = url[len(base + UPLOADS_PATH) :] if url.startswith(base + UPLOADS_PATH) else None
        if name is None or not _NAME.match(name):
            bad[str(index)] = ["只能使用本服务上传的图片地址"]
        else:
            names.append((index, name))
    if names:
        known = set(
            db.session.scalars(
                select(Upload.name).where(Upload.user_id == user_id, Upload.name.in_([name for _, name in names]))
            )
        )
        for index, name in names:
            if name not in known or stored_path(name) is None:
                bad[str(index)] = ["图片不存在，请重新上传"]
    if bad:
        raise InvalidMedia(details={"media": bad})
    return list(urls)


def upload_names(media) -> list[str]:
    """The names of our uploads a stored record's media list refers to (erasure deletes them)."""
    names = []
    for item in media or []:
        match = _STORED_MEDIA.match(item) if isinstance(item, str) else None
        if match:
            names.append(match.group(1))
    return names


def delete_stored(names) -> int:
    """Delete stored upload files by name (after their rows are gone); returns how many were removed."""
    removed = 0
    for name in names:
        path = stored_path(name)
        if path is not None:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def shown_media(media, base) -> list[str]:
    """The media of a stored record as a view may show them: only our uploads, as our own URLs.

    Entries that are not an upload of ours (a placeholder still being fetched, or anything stored
    before media were checked) are left out, never shown as they are.
    """
    shown = []
    for item in media or []:
        match = _STORED_MEDIA.match(item) if isinstance(item, str) else None
        if match:
            shown.append(upload_url(match.group(1), base))
    return shown
