"""Uploads: images judged by their bytes, at most 5 MB, served back from UPLOAD_DIR."""
import io

from tests.miniprogram_api.conftest import PNG

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40


def _upload(mp, data, name="x.png"):
    return mp.post("/uploads", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_a_png_is_stored_and_served_back(login, client):
    mp = login()
    response = _upload(mp, PNG)
    assert response.status_code == 201
    url = response.json["url"]
    assert url.endswith(".png")
    served = client.get(url)
    assert served.status_code == 200
    assert served.data == PNG
    assert served.mimetype == "image/png"


def test_jpeg_and_webp_are_accepted_by_content_whatever_their_name(login):
    mp = login()
    assert _upload(mp, JPEG, "photo.txt").json["url"].endswith(".jpg")
    assert _upload(mp, WEBP, "photo").json["url"].endswith(".webp")


def test_a_non_image_named_png_is_422(login):
    response = _upload(login(), b"<html><script>alert(1)</script></html>", "evil.png")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "unsupported_image"


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
