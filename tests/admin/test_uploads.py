"""Goods images uploaded by staff: the same checks as a family's upload (whole image, re-encoded
without metadata, 5 MB, daily quota), owned by the admin, usable as a goods image."""

import io

from PIL import Image
from sqlalchemy import func, select

from school_points.models import Admin, AuditLog, Upload
from school_points.platform.extensions import db
from tests.miniprogram_api.conftest import PNG
from tests.miniprogram_api.test_uploads import image_bytes, phone_exif


def upload(api, data, name="goods.png"):
    return api.post("/uploads", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_an_admins_image_is_stored_served_and_usable_as_a_goods_image(api, client):
    response = upload(api, image_bytes("JPEG", exif=phone_exif()), "photo.jpg")
    assert response.status_code == 201, response.json
    url = response.json["url"]
    served = client.get(url)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert not Image.open(io.BytesIO(served.data)).getexif()  # the camera's data and GPS are gone
    row = db.session.scalar(select(Upload))
    boss = db.session.scalar(select(Admin).where(Admin.username == "boss"))
    assert (row.admin_id, row.user_id, row.source) == (boss.id, None, "admin")
    goods = api.post("/goods", {"name": "贴纸", "points": 5, "verify_code": "1234", "image_url": url})
    assert goods.status_code == 201 and goods.json["image_url"] == url
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "upload.create"))
    assert audit.target_id == url.rsplit("/", 1)[1]


def test_hostile_files_are_refused_and_nothing_is_stored(api):
    whole = image_bytes("JPEG", size=(200, 200))
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    cases = [
        (b"<html><script>alert(1)</script></html>", 422, "unsupported_image"),
        (whole[: len(whole) // 2], 422, "invalid_image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"<svg onload=alert(1)>" * 20, 422, "invalid_image"),
        (gif.getvalue(), 422, "unsupported_image"),
        (PNG + b"\x00" * (5 * 1024 * 1024), 413, "image_too_large"),
    ]
    for data, status, code in cases:
        response = upload(api, data, "evil.png")
        assert (response.status_code, response.json["error"]["code"]) == (status, code)
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0


def test_no_file_is_422_and_no_token_is_401(api, fresh_api):
    response = api.post("/uploads", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.json["error"]["details"]
    assert upload(fresh_api, PNG).status_code == 401


def test_an_admin_has_a_daily_quota_of_their_own(api, campus_api, app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DAILY_FILES", 2)
    assert [upload(api, PNG).status_code for _ in range(2)] == [201, 201]
    refused = upload(api, PNG)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "upload_quota_exceeded"
    assert upload(campus_api, PNG).status_code == 201  # another admin is not affected
