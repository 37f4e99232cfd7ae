"""Image uploads for growth records, and serving them back."""

from flask import current_app, g, request, send_file

from school_points.media import uploads
from school_points.platform.errors import NotFound, ValidationFailed
from webkit.errors import ApiError
from webkit.responses import respond

from . import bp, schemas
from .kit import api


@bp.post("/uploads")
@api(
    "上传图片（JPEG/PNG/WebP，≤ 5 MB，须能完整解码；去除 EXIF 等元数据后重新编码保存；每人每天有上传上限）",
    body=schemas.UploadIn,
    out=schemas.UploadOut,
    status=201,
    content_type="multipart/form-data",
    tags=["成长记录"],
    description="超过每日上限（默认 50 张或 100 MB，按学校时区的自然日）时返回 429 upload_quota_exceeded，"
    "Retry-After 为距次日零点的秒数。",
    errors={
        413: ["image_too_large", "payload_too_large"],
        422: ["unsupported_image", "invalid_image", "image_too_many_pixels"],
        429: ["upload_quota_exceeded"],
    },
)
def upload():
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed(details={"file": ["请选择要上传的图片"]})
    try:
        stored = uploads.store_upload(g.user.id, file.stream)
    except uploads.ImageTooLarge as exc:
        raise ApiError(413, exc.code, exc.message, exc.details) from None
    return respond({"url": upload_url(stored.name)}, 201)


@bp.get("/uploads/<name>")
@api(
    "读取已上传的图片（无需 token：小程序 <image> 不带请求头；文件名为 128 位随机数）",
    auth=None,
    out=None,
    content_type="image/*",
    tags=["成长记录"],
    errors={404: ["not_found"]},
)
def get_upload(name):
    path = uploads.stored_path(name)
    if path is None:
        raise NotFound("图片不存在")
    # The type is the one the decoder confirmed when the file was stored (it names the file).
    response = send_file(path, mimetype=uploads.MIME_TYPES[path.suffix.lstrip(".")], max_age=7 * 24 * 3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def public_base():
    """This deployment's public base URL: PUBLIC_BASE_URL, required in production (config.py).

    Only in development, without it, the request's own address stands in; a Host header never
    decides a URL in production.
    """
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return configured
    return request.url_root.rstrip("/")


def upload_url(name):
    """The public URL of a stored upload."""
    return uploads.upload_url(name, public_base())


def check_media(urls):
    """Media of a growth record must be the caller's own uploads, as the URLs we gave out; else 422."""
    return uploads.check_media(urls, g.user.id, public_base())


def shown_media(media):
    """A stored record's media as views show them: our uploads only, under today's public base."""
    return uploads.shown_media(media, public_base())
