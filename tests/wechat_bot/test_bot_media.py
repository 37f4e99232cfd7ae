"""Photos sent to the official account are stored like mini-program uploads: cleaned, counted, ours."""

import io

from PIL import Image
from sqlalchemy import select

from school_points.media.wechat_media import fetch_record_media
from school_points.models import GrowthRecord, Upload
from school_points.platform.extensions import db
from tests.wechat_bot.officialaccount import image_xml


def _photo_with_gps():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 13.0, 49.0), 3: "E", 4: (121.0, 28.0, 11.0)}
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 120, 10)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def _record_after_fetch(oa, openid, media_id):
    oa.post(image_xml(openid, media_id))
    db.session.expire_all()
    record = db.session.scalars(select(GrowthRecord).order_by(GrowthRecord.id.desc())).first()
    fetch_record_media(record.id)  # without Redis it already ran after the commit; a repeat is a no-op
    db.session.expire_all()
    return db.session.get(GrowthRecord, record.id)


def test_a_photo_sent_to_the_official_account_is_stored_without_its_gps_position(
    oa, parent, fake_wechat, sync_bot, client
):
    fake_wechat.media_bytes = _photo_with_gps()
    record = _record_after_fetch(oa, parent[0], "media-gps")
    assert len(record.media) == 1
    upload = db.session.scalars(select(Upload)).one()
    assert (upload.user_id, upload.source, upload.kind) == (record.author_user_id, "oa", "jpg")
    served = client.get("/api/v1/uploads/" + upload.name)
    assert served.mimetype == "image/jpeg"
    assert dict(Image.open(io.BytesIO(served.data)).getexif()) == {}
    assert b"PhoneMaker" not in served.data


def test_a_photo_past_the_senders_daily_quota_is_not_stored(oa, parent, fake_wechat, sync_bot, app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DAILY_FILES", 1)
    first = _record_after_fetch(oa, parent[0], "media-1")
    second = _record_after_fetch(oa, parent[0], "media-2")
    assert len(first.media) == 1
    assert second.media == []  # refused and not retried: the check-in stays, without the photo
    assert db.session.query(Upload).count() == 1


def test_a_file_that_is_not_a_whole_image_is_not_stored(oa, parent, fake_wechat, sync_bot):
    fake_wechat.media_bytes = b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10
    record = _record_after_fetch(oa, parent[0], "media-bad")
    assert record.media == []
    assert db.session.query(Upload).count() == 0
