"""Uploads: whole images only, stored re-encoded without metadata, at most 5 MB, a daily quota per user."""

import io
import struct
import zlib
from datetime import timedelta

import pytest
from PIL import Image

from school_points.media import uploads
from school_points.models import Upload
from school_points.platform import clock
from school_points.platform.extensions import db
from tests.conftest import requires_pg, run_concurrently
from tests.miniprogram_api.conftest import PNG

GPS_IFD, ORIENTATION, MAKE = 0x8825, 0x0112, 0x010F


def image_bytes(fmt, size=(40, 20), color=(200, 30, 30), exif=None, **kwargs):
    """An image made here, optionally with EXIF (the way a phone writes a photo's position)."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **({"exif": exif} if exif is not None else {}), **kwargs)
    return out.getvalue()


def phone_exif(orientation=1):
    """EXIF as a phone camera writes it: the device, the orientation and the GPS position."""
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (31.0, 13.0, 49.0), 3: "E", 4: (121.0, 28.0, 11.0)}
    return exif


def _upload(mp, data, name="x.png", headers=None):
    return mp.post(
        "/uploads", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data", headers=headers
    )


def _served(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response, Image.open(io.BytesIO(response.data))


def test_a_png_is_stored_and_served_back_as_a_png(login, client):
    response = _upload(login(), PNG)
    assert response.status_code == 201
    url = response.json["url"]
    assert url.endswith(".png")
    served, image = _served(client, url)
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert (image.format, image.size) == ("PNG", (1, 1))


def test_jpeg_and_webp_are_accepted_by_content_whatever_their_name(login, client):
    mp = login()
    jpeg = _upload(mp, image_bytes("JPEG"), "photo.txt").json["url"]
    webp = _upload(mp, image_bytes("WEBP"), "photo").json["url"]
    assert jpeg.endswith(".jpg") and webp.endswith(".webp")
    assert _served(client, jpeg)[0].mimetype == "image/jpeg"
    assert _served(client, webp)[0].mimetype == "image/webp"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_photos_gps_position_and_camera_data_are_not_stored(login, client, fmt):
    original = image_bytes(fmt, exif=phone_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the photo does carry a position
    url = _upload(login(), original, "child.jpg").json["url"]
    served, image = _served(client, url)
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info and "xmp" not in image.info
    assert b"PhoneMaker" not in served.data and b"Exif" not in served.data


def test_a_photo_taken_sideways_is_stored_upright(login, client):
    # A phone held upright writes landscape pixels plus "rotate 90°" (orientation 6) in EXIF.
    original = image_bytes("JPEG", size=(60, 20), exif=phone_exif(orientation=6))
    url = _upload(login(), original).json["url"]
    _, image = _served(client, url)
    assert image.size == (20, 60)  # the rotation is in the pixels now that the EXIF tag is gone


def test_a_truncated_image_is_422(login):
    whole = image_bytes("JPEG", size=(200, 200))
    response = _upload(login(), whole[: len(whole) // 2])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_image"
    assert "file" in response.json["error"]["details"]


def test_a_png_with_a_broken_checksum_is_422(login):
    damaged = bytearray(PNG)
    damaged[-20] ^= 0xFF  # inside the IDAT chunk: its CRC no longer matches
    response = _upload(login(), bytes(damaged))
    assert (response.status_code, response.json["error"]["code"]) == (422, "invalid_image")


def test_garbage_after_jpeg_magic_bytes_is_422_and_nothing_is_stored(login):
    files_before = set(uploads.upload_dir().iterdir()) if uploads.upload_dir().exists() else set()
    fake = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"<html><script>alert(1)</script></html>" * 20
    response = _upload(login(), fake, "photo.jpg")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_image"
    assert db.session.query(Upload).count() == 0
    assert set(uploads.upload_dir().iterdir()) - files_before == set()


def test_html_appended_to_a_real_jpeg_is_not_stored(login, client):
    polyglot = image_bytes("JPEG") + b"<html><script>alert(document.cookie)</script></html>"
    url = _upload(login(), polyglot, "a.html").json["url"]
    served, _ = _served(client, url)
    assert served.mimetype == "image/jpeg"
    assert b"<script>" not in served.data


def test_a_non_image_named_png_is_422(login):
    response = _upload(login(), b"<html><script>alert(1)</script></html>", "evil.png")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "unsupported_image"


def test_a_gif_is_422_even_though_it_is_an_image(login):
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "GIF")
    assert _upload(login(), out.getvalue()).json["error"]["code"] == "unsupported_image"


def _png_claiming(width, height):
    """A small PNG whose header claims huge dimensions (a decompression bomb's shape)."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_422_before_any_pixel_is_decoded(login):
    response = _upload(login(), _png_claiming(60_000, 60_000))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "image_too_many_pixels"


def test_the_pixel_limit_applies_to_real_images(login, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_IMAGE_PIXELS", 100)
    response = _upload(login(), image_bytes("PNG", size=(11, 10)))
    assert (response.status_code, response.json["error"]["code"]) == (422, "image_too_many_pixels")


def test_an_image_over_5_mb_is_413(login):
    response = _upload(login(), PNG + b"\x00" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "image_too_large"


def test_a_body_over_the_request_limit_is_413(login):
    response = _upload(login(), PNG + b"\x00" * (7 * 1024 * 1024))
    assert response.status_code == 413


def test_no_file_is_422(login):
    response = login().post("/uploads", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "file" in response.json["error"]["details"]


def test_uploading_needs_a_token(anonymous):
    assert _upload(anonymous, PNG).status_code == 401


def test_unknown_or_crafted_names_are_404(client):
    assert client.get("/api/v1/uploads/" + "0" * 32 + ".png").status_code == 404
    assert client.get("/api/v1/uploads/..%2F..%2Fetc%2Fpasswd").status_code == 404


# --- the daily quota -----------------------------------------------------------------------------


def test_past_the_daily_number_of_files_a_parent_gets_429_until_midnight(login, app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DAILY_FILES", 3)
    mp = login()
    assert [_upload(mp, PNG).status_code for _ in range(3)] == [201, 201, 201]
    refused = _upload(mp, PNG)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "upload_quota_exceeded"
    assert refused.json["error"]["message"] == "今天上传的图片已达上限，请明天再试"
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 24 * 3600
    assert db.session.query(Upload).count() == 3  # the refused one left nothing behind
    assert _upload(login(), PNG).status_code == 201  # another parent is not affected


def test_past_the_daily_bytes_a_parent_gets_429(login, app, monkeypatch):
    jpeg = image_bytes("JPEG", size=(300, 300))
    monkeypatch.setitem(app.config, "UPLOAD_DAILY_BYTES", 2 * len(jpeg) + len(PNG))
    mp = login()
    assert [_upload(mp, jpeg).status_code for _ in range(2)] == [201, 201]
    assert _upload(mp, jpeg).status_code == 429
    assert _upload(mp, PNG).status_code == 201  # a small file still fits under the bytes left


def test_the_quota_day_is_the_schools_day(login, app, monkeypatch):
    """A parent who used the quota late in the evening (school time) can upload after local midnight."""
    monkeypatch.setitem(app.config, "UPLOAD_DAILY_FILES", 1)
    monkeypatch.setitem(app.config, "SCHOOL_TIMEZONE", "Asia/Shanghai")
    mp = login()
    midnight = clock.day_end(clock.local_today())  # the next midnight in Shanghai, as a UTC instant
    monkeypatch.setattr(clock, "utcnow", lambda: midnight - timedelta(minutes=30))
    assert _upload(mp, PNG).status_code == 201
    refused = _upload(mp, PNG)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(30 * 60)  # until midnight at the school
    monkeypatch.setattr(clock, "utcnow", lambda: midnight + timedelta(minutes=1))
    assert _upload(mp, PNG).status_code == 201


@requires_pg
def test_concurrent_uploads_never_pass_the_quota(app, login, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DAILY_FILES", 3)
    mp = login()
    user_id = mp.user_id

    def upload_one(_):
        stored = uploads.store_upload(user_id, io.BytesIO(PNG))
        db.session.commit()
        return stored.name

    results = run_concurrently(app, upload_one, range(8))
    stored = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, uploads.UploadQuotaExceeded)]
    assert (len(stored), len(refused)) == (3, 5), results
    assert db.session.query(Upload).filter_by(user_id=user_id).count() == 3


# --- absolute URLs -------------------------------------------------------------------------------


def test_with_public_base_url_a_forged_host_header_does_not_decide_the_url(login, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://points.school.example")
    response = _upload(login(), PNG, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 201
    assert response.json["url"].startswith("https://points.school.example/api/v1/uploads/")
    assert "evil" not in response.json["url"]


def test_in_development_without_public_base_url_the_request_address_is_used(login, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "")
    response = _upload(login(), PNG)
    assert response.json["url"].startswith("http://localhost/api/v1/uploads/")
