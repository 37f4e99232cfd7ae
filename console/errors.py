"""Errors on console pages become pages in Chinese, never JSON and never a traceback: 404 (also
for another campus's rows: the scope answers like a row that does not exist), 403, a CSRF
failure ("the page has expired"), a business rule refused on a form post (a flash message back on
the page), a database that cannot be reached (503)."""

from flask import current_app, flash, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from webkit.errors import DATABASE_RETRY_AFTER_SECONDS, database_unreachable

from . import bp

TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持该操作",
    409: "操作未完成",
    413: "上传的内容过大",
    422: "填写有误",
    429: "操作过于频繁",
    500: "系统出错了",
    503: "服务暂不可用",
}
STATUS_BY_KIND = {"not_found": 404, "forbidden": 403, "validation": 422, "rate_limited": 429, "unavailable": 503}


def error_page(status, message=None, title=None):
    """The console's error page."""
    title = title or TITLES.get(status, "出错了")
    return render_template("console/error.html", status=status, title=title, message=message or ""), status


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def _no_such_page(anything):
    """Any other path under /console/: the console's own 404 page rather than the APIs' JSON."""
    return error_page(404, "您要找的页面不存在，或尚未开放。")


@bp.errorhandler(CSRFError)
def _csrf_failed(exc):
    current_app.logger.info("console: CSRF check failed: %s", exc.description)
    db.session.rollback()
    return error_page(400, "页面已过期或来源无法确认，请返回刷新页面后重试。", title="页面已过期")


@bp.errorhandler(DomainError)
def _refused(exc):
    """A rule refused the request: on a form post, the message goes back to the page it came
    from (views that show field errors catch DomainError themselves); otherwise an error page."""
    db.session.rollback()
    status = getattr(exc, "status", None) or STATUS_BY_KIND.get(exc.kind, 409)
    if request.method == "POST" and status in (409, 422) and _same_site(request.referrer):
        flash(exc.message, "error")
        return redirect(request.referrer)
    return error_page(status, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc):
    db.session.rollback()
    return error_page(exc.code or 500)


@bp.errorhandler(Exception)
def _unexpected(exc):
    if database_unreachable(exc):
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the session must still reset
            db.session.close()
        body, status = error_page(503, "数据库暂时无法连接，请稍后刷新重试。")
        return body, status, {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(500, "请稍后再试；如果一直出现，请联系技术支持。")


def _same_site(url):
    return bool(url) and url.startswith(request.host_url + "console/")
