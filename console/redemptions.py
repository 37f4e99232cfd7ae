"""兑换: the orders desk. A teacher at the front desk types (or scans) a family's pickup code and
issues the order; the list filters by status, campus and the school-local order day, and exports
what it shows. Issuing and cancelling are the API's order-desk services (`mall.order_desk`):
the same rules, refund, stock, notifications and audit entries."""

import itertools
import uuid

from flask import flash, redirect, render_template, request, url_for

from school_points.mall import order_desk
from school_points.models import Admin, Redemption, Teacher
from school_points.office import exports
from school_points.office.exports import ISSUE_METHOD_NAMES, ORDER_STATUS_NAMES
from school_points.office.tabular_writer import CSV_MIME, XLSX_MIME, csv_chunks, xlsx_chunks
from school_points.platform.clock import local_today
from school_points.platform.errors import DomainError, NotFound
from school_points.platform.extensions import db
from school_points.school.scoping import campus_filter_id
from staffkit.office_schemas import RedemptionExportQuery
from staffkit.schemas import CancelWithReasonIn, RedemptionDeskQuery
from webkit.downloads import streamed_download

from . import bp, formkeys
from .forms import Form
from .goods import campus_names
from .kit import paged
from .session import safe_next, staff_page

STATUS_TONES = {"pending": "warning", "issued": "success", "cancelled": "muted"}
LIST_FILTERS = ("status", "campus_id", "student_id", "goods_id", "from_", "to")


@bp.app_template_filter("order_status")
def order_status(status):
    """An order's status in Chinese (待发放, 已发放, 已取消)."""
    return ORDER_STATUS_NAMES.get(status, status)


@bp.app_template_filter("issue_method")
def issue_method(method):
    return ISSUE_METHOD_NAMES.get(method, method or "")


@bp.app_template_global("order_tone")
def order_tone(status):
    return STATUS_TONES.get(status, "muted")


@bp.app_template_global("fresh_form_key")
def fresh_form_key():
    """A new one-time key for a form (console/formkeys.py): one per action button."""
    return uuid.uuid4().hex


@bp.get("/redemptions")
@staff_page
def redemption_list(staff):
    filters = Form(RedemptionDeskQuery, request.args, load=True)
    page, found, lookup_error = None, None, ""
    if filters.valid:
        wanted = {k: v for k, v in filters.data.items() if k in LIST_FILTERS}
        wanted["first_day"], wanted["last_day"] = wanted.pop("from_", None), wanted.pop("to", None)
        page = paged(order_desk.list_orders_query(staff.scope, **wanted), Redemption.id)
        code = filters.data.get("code", "")
        if code:
            try:
                found = order_desk.find_by_pickup_code(code, staff.scope)
            except NotFound as exc:
                lookup_error = exc.message
    return render_template(
        "console/redemptions/list.html",
        filters=filters,
        page=page,
        found=found,
        lookup_error=lookup_error,
        campuses=campus_names(staff.scope),
        statuses=list(ORDER_STATUS_NAMES.items()),
        export_args=_export_args(),
    )


@bp.get("/redemptions/<int:order_id>")
@staff_page
def redemption_detail(staff, order_id):
    return _detail(staff, order_desk.get_order(order_id, staff.scope), Form(CancelWithReasonIn, load=False))


@bp.post("/redemptions/<int:order_id>/issue")
@staff_page
def redemption_issue(staff, order_id):
    order = order_desk.get_order(order_id, staff.scope)
    back = safe_next(request.form.get("next"), default=url_for("console.redemption_detail", order_id=order.id))
    claim = formkeys.claim(staff, request.form.get("form_key", ""), f"redemption.issue:{order.id}")
    if claim.replay is not None:
        return _back(claim.replay, back)
    try:
        order = order_desk.issue_order(order.id, scope=staff.scope, actor=staff.actor)
    except DomainError as exc:
        db.session.rollback()
        return _back({"message": exc.message, "category": "error"}, back)
    outcome = {"message": f"已发放：{order.student.name} 的「{order.goods_name}」× {order.quantity}"}
    claim.remember(outcome)
    db.session.commit()
    return _back(outcome, back)


@bp.post("/redemptions/<int:order_id>/cancel")
@staff_page
def redemption_cancel(staff, order_id):
    order = order_desk.get_order(order_id, staff.scope)
    form = Form(CancelWithReasonIn)
    if form.valid:
        claim = formkeys.claim(staff, request.form.get("form_key", ""), f"redemption.cancel:{order.id}")
        if claim.replay is not None:
            return _back(claim.replay, url_for("console.redemption_detail", order_id=order.id))
        try:
            order = order_desk.cancel_order(order.id, form.data["reason"], scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            db.session.rollback()
            return _back(
                {"message": exc.message, "category": "error"},
                url_for("console.redemption_detail", order_id=order.id),
            )
        outcome = {"message": f"已取消订单，{order.total_points} 积分已退回 {order.student.name}，库存已恢复"}
        claim.remember(outcome)
        db.session.commit()
        return _back(outcome, url_for("console.redemption_detail", order_id=order.id))
    return _detail(staff, order, form, status=422)


@bp.get("/redemptions/export")
@staff_page
def redemption_export(staff):
    """The orders of the current filters as xlsx or CSV (office.exports.order_sheet, as the API's
    export): audited and committed before any row is read, then streamed."""
    form = Form(RedemptionExportQuery, request.args, load=True)
    if not form.valid:
        return done_with_error("导出条件有误：" + "；".join(m for ms in form.errors.values() for m in ms))
    args = dict(form.data)
    file_format = args.pop("format")
    first_day, last_day = args.pop("from_", None), args.pop("to", None)
    campus_id = args.pop("campus_id", None)
    if campus_id is not None:
        campus_filter_id(staff.scope, campus_id)  # NotFound → the 404 page
    scope_campus = campus_id if campus_id is not None else staff.scope.campus_id
    span = {"from": first_day, "to": last_day}
    exports.record_export(staff.actor, "redemptions", campus_id=scope_campus, format=file_format, **span, **args)
    db.session.commit()
    sheet = exports.order_sheet(staff.scope, campus_id=campus_id, first_day=first_day, last_day=last_day, **args)
    today = local_today()
    days = f"{(first_day or today).isoformat()}_{(last_day or today).isoformat()}"
    name = days if first_day or last_day else today.isoformat()
    if file_format == "xlsx":
        chunks, mimetype = xlsx_chunks([sheet]), XLSX_MIME
    else:
        chunks, mimetype = csv_chunks(sheet.columns, sheet.rows), CSV_MIME
    first = next(chunks)  # read here, so a database failure is still a clean error page
    filename, ascii_filename = f"兑换订单_{name}.{file_format}", f"redemptions_{name}.{file_format}"
    return streamed_download(itertools.chain([first], chunks), mimetype, filename, ascii_filename)


def done_with_error(message):
    flash(message, "error")
    return redirect(url_for("console.redemption_list"))


def _export_args():
    """The list's current filters as the export's query (the pickup code and the page left out)."""
    return {key: value for key, value in request.args.items() if key not in ("code", "cursor", "limit") and value}


def _back(outcome, target):
    if outcome.get("message"):
        flash(outcome["message"], outcome.get("category", "success"))
    return redirect(target)


def _detail(staff, order, cancel_form, status=200):
    return render_template(
        "console/redemptions/detail.html",
        order=order,
        cancel_form=cancel_form,
        campuses=campus_names(staff.scope),
        issued_by=_who(order.issued_by_type, order.issued_by_id),
        cancelled_by=_who(order.cancelled_by_type, order.cancelled_by_id),
    ), status


def _who(kind, row_id):
    """Who acted on an order, as staff know them."""
    if kind == "admin":
        admin = db.session.get(Admin, row_id)
        return f"管理员 {admin.username}" if admin else "管理员"
    if kind == "teacher":
        teacher = db.session.get(Teacher, row_id)
        return f"老师 {teacher.name}" if teacher else "老师"
    return {"user": "家长", "system": "系统"}.get(kind, "") if kind else ""
