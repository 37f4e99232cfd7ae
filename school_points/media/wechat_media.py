"""Fetching check-in photos sent to the official account (WeChat keeps them for 3 days).

The callback stores the photo's MediaId in the record as a placeholder and answers at once; this
job downloads the image, stores it like a mini-program upload (decoded, re-encoded without
metadata, counted in the sender's daily upload quota) and puts its URL in the record.
"""

import io
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import String, cast, select

from school_points.media.uploads import store_upload, upload_url
from school_points.models import GrowthRecord
from school_points.platform.clock import utcnow
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.wechat import clients

log = logging.getLogger(__name__)

PLACEHOLDER = "wechat-media:"
# WeChat deletes temporary media after 3 days: past that a placeholder cannot be filled.
MEDIA_LIFETIME = timedelta(days=3)


def media_placeholder(media_id) -> str:
    """The record's media entry for a photo not fetched yet."""
    return PLACEHOLDER + media_id[:128]


def fetch_record_media(record_id) -> int:
    """Replace a record's placeholders with stored images; returns how many are still missing."""
    record = db.session.get(GrowthRecord, record_id)
    if record is None or not any(m.startswith(PLACEHOLDER) for m in record.media or []):
        return 0
    media, missing = [], 0
    for item in record.media:
        if not item.startswith(PLACEHOLDER):
            media.append(item)
            continue
        url, keep = _fetch(item[len(PLACEHOLDER) :], record.author_user_id)
        if url:
            media.append(url)
        elif keep:
            media.append(item)
            missing += 1
    record.media = media
    db.session.commit()
    return missing


def _fetch(media_id, user_id):
    """(url, keep_placeholder): a stored image's URL, or whether to try again later."""
    try:
        response = clients.call(clients.oa_client(), lambda c: c.media.download(media_id))
    except clients.WechatNotConfigured:
        return None, False
    except clients.WechatUnavailable as exc:
        log.warning("media %s not fetched: %s", media_id, exc)
        return None, exc.transient
    content = getattr(response, "content", None)
    if content is None:
        return None, False  # WeChat answered JSON without an error: no such media
    try:
        stored = store_upload(user_id, io.BytesIO(content), source="oa")
    except DomainError as exc:  # not a whole image, or past the sender's daily quota: not kept
        log.warning("media %s not stored (%s): %s", media_id, exc.code, exc.message)
        return None, False
    return public_upload_url(stored.name), False


def public_upload_url(name) -> str:
    """The URL the mini-program adapter serves a stored upload at (a path when PUBLIC_BASE_URL is
    unset, which only development allows; views rebuild it under their own base)."""
    return upload_url(name, current_app.config.get("PUBLIC_BASE_URL", ""))


def records_missing_media(now=None) -> list[int]:
    """Ids of recent records that still have a photo to fetch (for the sweep)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(GrowthRecord.id)
            .where(
                GrowthRecord.source == "oa",
                GrowthRecord.deleted_at.is_(None),
                GrowthRecord.created_at >= now - MEDIA_LIFETIME,
                cast(GrowthRecord.media, String).like(f"%{PLACEHOLDER}%"),
            )
            .order_by(GrowthRecord.id)
            .limit(500)
        )
    )
