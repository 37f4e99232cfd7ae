"""Image uploads for growth records: judged by their bytes, never by their name or declared type."""
import os
import re
import secrets
from pathlib import Path

from flask import current_app

from .errors import DomainError, ValidationFailed

MAX_IMAGE_BYTES = 5 * 1024 * 1024
_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


class ImageTooLarge(DomainError):
    code, message, kind = "image_too_large", "图片不能超过 5 MB", "validation"


class NotAnImage(ValidationFailed):
    code, message = "unsupported_image", "只能上传 JPEG、PNG 或 WebP 图片"


def sniff_image(head):
    """The image type the first bytes show ('jpg', 'png', 'webp'), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def save_image(stream):
    """Store an uploaded image under UPLOAD_DIR; returns its stored file name.

    Raises ImageTooLarge past 5 MB and NotAnImage for anything that is not JPEG, PNG or WebP.
    """
    data = stream.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(details={"file": ["图片不能超过 5 MB"], "max_bytes": MAX_IMAGE_BYTES})
    kind = sniff_image(data[:16])
    if kind is None:
        raise NotAnImage(details={"file": ["只能上传 JPEG、PNG 或 WebP 图片"]})
    name = f"{secrets.token_hex(16)}.{kind}"
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{name}.part"
    temporary.write_bytes(data)
    os.replace(temporary, directory / name)
    return name


def stored_path(name):
    """The path of a stored upload, or None for a name we never gave out."""
    if not _NAME.match(name or ""):
        return None
    path = upload_dir() / name
    return path if path.is_file() else None


def upload_dir():
    """Where uploads live (UPLOAD_DIR)."""
    return Path(current_app.config["UPLOAD_DIR"])
