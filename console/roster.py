"""导入 and the roster's downloads: importing a student list (.xlsx or CSV) with a preview first,
the import template, and the roster export (学员 list page). The same services as the admin API
(office/roster_import.py as POST /students/import calls it; office/exports.py as GET
/students/export), audited by them.

The import is two steps on the SAME file: the upload runs as a dry run and shows the preview;
when it has no errors the file is kept server-side (the instance folder's console-imports/,
under a random token the signed session cookie holds) until 确认导入 imports it, a new upload
replaces it, or UPLOAD_TTL_SECONDS pass (stale files are swept on every upload).
"""

import re
import secrets
import time
from datetime import date
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from school_points.models import SchoolClass
from school_points.office import exports, roster_import, tabular
from school_points.office.tabular_writer import Sheet
from school_points.platform.clock import local_today
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.school import campuses
from school_points.school.scoping import campus_filter_id, get_in_scope
from staffkit.downloads import download
from staffkit.office_schemas import RosterExportQuery

from . import bp
from .errors import error_page
from .session import staff_page

UPLOAD_TTL_SECONDS = 30 * 60
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
SESSION_KEY = "roster_upload"
TEMPLATE_COLUMNS = exports.ROSTER_COLUMNS[:5]  # 姓名 学号 校区 班级 生日: the import's header row


def upload_dir() -> Path:
    """Where uploaded roster files wait for 确认导入."""
    return Path(current_app.instance_path) / "console-imports"


def _path(token):
    return upload_dir() / f"{token}.upload" if isinstance(token, str) and TOKEN.fullmatch(token) else None


def _sweep():
    """Delete uploads older than UPLOAD_TTL_SECONDS (abandoned previews)."""
    folder = upload_dir()
    if not folder.is_dir():
        return
    oldest = time.time() - UPLOAD_TTL_SECONDS
    for path in folder.glob("*.upload"):
        try:
            if path.stat().st_mtime < oldest:
                path.unlink()
        except FileNotFoundError:
            pass


def _forget_upload():
    kept = session.pop(SESSION_KEY, None)
    path = _path(kept.get("token")) if isinstance(kept, dict) else None
    if path is not None:
        path.unlink(missing_ok=True)


def _keep_upload(data, filename, admin_id):
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    _path(token).write_bytes(data)
    session[SESSION_KEY] = {"token": token, "name": filename, "admin": admin_id, "at": int(time.time())}
    return token


def _kept_upload(token, admin_id):
    """(bytes, filename) of this session's kept upload named by `token`, or None (expired, another
    tab's older upload, another admin)."""
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("token") != token or kept.get("admin") != admin_id:
        return None
    path = _path(token)
    if path is None or not path.is_file() or time.time() - path.stat().st_mtime > UPLOAD_TTL_SECONDS:
        return None
    return path.read_bytes(), str(kept.get("name") or "")


def _run(data, filename, staff, *, dry_run):
    """The import's summary, or (None, the file's problem in Chinese)."""
    try:
        return roster_import.import_roster(data, filename, scope=staff.scope, actor=staff.actor, dry_run=dry_run), None
    except DomainError as exc:
        db.session.rollback()
        messages = (exc.details or {}).get("file")
        return None, messages[0] if isinstance(messages, list) and messages else exc.message


@bp.get("/import")
@staff_page
def import_page(staff):
    return _page()


def _page(summary=None, error=None, token=None, filename="", status=200):
    """The import page: the upload form, and the preview or the result of a file."""
    return render_template(
        "console/import/page.html", summary=summary, error=error, token=token, filename=filename
    ), status


@bp.post("/import")
@staff_page
def import_preview(staff):
    _sweep()
    _forget_upload()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(error="请选择要导入的 .xlsx 或 .csv 文件", status=422)
    data = upload.stream.read(tabular.MAX_FILE_BYTES + 1)
    summary, error = _run(data, upload.filename, staff, dry_run=True)
    db.session.rollback()  # a dry run writes nothing; end its transaction
    token = None
    if summary is not None and not summary["errors"] and summary["rows"]:
        token = _keep_upload(data, upload.filename, staff.admin.id)
    status = 422 if error or (summary and summary["errors"]) else 200
    return _page(summary, error, token, upload.filename, status)


@bp.post("/import/confirm")
@staff_page
def import_confirm(staff):
    kept = _kept_upload(request.form.get("token"), staff.admin.id)
    if kept is None:
        flash("预览已过期或文件已导入，请重新上传文件", "error")
        return redirect(url_for("console.import_page"))
    data, filename = kept
    summary, error = _run(data, filename, staff, dry_run=False)
    if summary is not None and summary["written"]:
        db.session.commit()
        _forget_upload()
        return _page(summary, filename=filename)
    db.session.rollback()
    _forget_upload()
    # The school changed since the preview (a 学号 taken meanwhile): nothing written; upload again.
    return _page(summary, error, None, filename, 409 if error else 422)


@bp.get("/import/template.xlsx")
@staff_page
def import_template(staff):
    campus_names = [campus.name for campus in db.session.scalars(campuses.list_campuses_query(staff.scope).limit(1))]
    example = ("王小明", "S2026001", campus_names[0] if campus_names else "", "一年级一班", date(2018, 5, 1))
    sheet = Sheet("学员名单", TEMPLATE_COLUMNS, [example])
    return download([sheet], "xlsx", "学员名单导入模板", "roster_template")


@bp.get("/students/export")
@staff_page
def export_roster(staff):
    args = request.args.to_dict()
    args["include_bind_codes"] = "true" if args.get("include_bind_codes") in ("true", "1", "on") else "false"
    args = {key: value for key, value in args.items() if value != ""}
    try:
        query = RosterExportQuery().load(args)
    except ValidationError:  # a hand-edited URL: the page's form only sends valid values
        return error_page(400, "导出条件有误，请返回学员列表重新选择。")
    campus_id = campus_filter_id(staff.scope, query.get("campus_id"))
    class_id = query.get("class_id")
    if class_id is not None:
        get_in_scope(SchoolClass, class_id, staff.scope, message="班级不存在", code="class_not_found")
    with_codes = query["include_bind_codes"] == "true"
    exports.record_export(
        staff.actor,
        "students",
        campus_id=campus_id,
        format=query["format"],
        class_id=class_id,
        status=query.get("status"),
        include_bind_codes=with_codes,
    )
    db.session.commit()  # audited before any row is read
    sheet = exports.roster_sheet(
        staff.scope, campus_id=campus_id, class_id=class_id, status=query.get("status"), include_bind_codes=with_codes
    )
    today = local_today().isoformat()
    return download([sheet], query["format"], f"学员名单_{today}", f"students_{today}")
