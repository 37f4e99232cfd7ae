"""Image uploads for growth records, and serving them back."""
from urllib.parse import urlsplit

from flask import current_app, request, send_file, url_for

from school_points.errors import NotFound, ValidationFailed
from school_points.httpkit import ApiError, respond
from school_points.uploads import ImageTooLarge, save_image, stored_path

from . import bp, schemas
from .kit import api

MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@bp.post("/uploads")
@api("上传图片（JPEG/PNG/WebP，≤ 5 MB，按文件内容判断类型）", body=schemas.UploadIn, out=schemas.UploadOut,
     status=201, content_type="multipart/form-data", tags=["成长记录"],
     errors={413: ["image_too_large", "payload_too_large"], 422: ["unsupported_image"]})
def upload():
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed(details={"file": ["请选择要上传的图片"]})
    try:
        name = save_image(file.stream)
    except ImageTooLarge as exc:
        raise ApiError(413, exc.code, exc.message, exc.details) from None
    return respond({"url": upload_url(name)}, 201)


@bp.get("/uploads/<name>")
@api("读取已上传的图片（无需 token：小程序 <image> 不带请求头；文件名为 128 位随机数）", auth=None,
     out=None, content_type="image/*", tags=["成长记录"], errors={404: ["not_found"]})
def get_upload(name):
    path = stored_path(name)
    if path is None:
        raise NotFound("图片不存在")
    response = send_file(path, mimetype=MIME[path.suffix.lstrip(".")], max_age=7 * 24 * 3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def upload_url(name):
    """The public URL of a stored upload."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base + url_for("miniprogram_api.get_upload", name=name)
    return url_for("miniprogram_api.get_upload", name=name, _external=True)


def check_media(urls):
    """Media of a growth record must be images uploaded here; 422 names the others."""
    bad = {}
    for index, url in enumerate(urls):
        path = urlsplit(url).path
        head, _, name = path.rpartition("/")
        if not head.endswith("/uploads") or stored_path(name) is None:
            bad[str(index)] = ["请先通过 /uploads 上传图片"]
    if bad:
        raise ValidationFailed(details={"media": bad})
