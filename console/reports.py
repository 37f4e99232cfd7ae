"""报表: the summary figures and the daily chart over a date range (30 days by default, at most
366), for a campus or all, and the downloads: the summary workbook with the daily series, and
the ledger of the range. The same office functions, schema (DailyQuery) and audit entries as the
admin API's /reports and /ledger/export (docs/EXPORTS.md)."""

import contextlib
import itertools
from datetime import date, timedelta

from flask import render_template, request, url_for
from werkzeug.datastructures import MultiDict

from school_points.models import Campus
from school_points.office import daily_report, exports, reports
from school_points.office.exports import KIND_NAMES, ORDER_STATUS_NAMES
from school_points.office.reports import ISSUING_KINDS
from school_points.office.tabular_writer import XLSX_MIME, xlsx_chunks
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.school import campuses
from school_points.school.scoping import campus_filter_id
from staffkit.office_schemas import DailyQuery
from webkit.downloads import streamed_download

from . import bp
from .dashboard import chart_data
from .forms import Form
from .session import staff_page

DEFAULT_DAYS = 30


def range_form():
    """The range filters with their defaults filled in: `to` today, `from` 29 days before `to`."""
    args = MultiDict(request.args)
    args.pop("format", None)
    if not args.get("to"):
        args["to"] = local_today().isoformat()
    if not args.get("from"):
        with contextlib.suppress(ValueError):  # a bad `to`: the schema names it
            args["from"] = (date.fromisoformat(args["to"]) - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return Form(DailyQuery, args, load=True)


def campus_choices(scope):
    """(id, name) of the campuses the admin may see (a campus admin: its own)."""
    query = campuses.list_campuses_query(scope).with_only_columns(Campus.id, Campus.name).order_by(Campus.id)
    return [(row.id, row.name) for row in db.session.execute(query)]


def _range(staff, form):
    campus_id = campus_filter_id(staff.scope, form.data.get("campus_id"))  # another campus's id: 404
    return form.data["from_"], form.data["to"], campus_id


@bp.get("/reports")
@staff_page
def reports_page(staff):
    form = range_form()
    report = chart = None
    if form.valid:
        first_day, last_day, campus_id = _range(staff, form)
        report = reports.summary(first_day, last_day, campus_id=campus_id)
        chart = chart_data(daily_report.daily(first_day, last_day, campus_id=campus_id)["days"])
    return _page(staff, form, report, chart)


def _page(staff, form, report, chart):
    query = {key: form.value(key) for key in ("from", "to", "campus_id") if form.value(key) != ""}
    return render_template(
        "console/reports/page.html",
        form=form,
        report=report,
        chart=chart,
        campus_choices=campus_choices(staff.scope),
        kinds=[(kind, KIND_NAMES.get(kind, kind)) for kind in ISSUING_KINDS],
        order_names=ORDER_STATUS_NAMES,
        export_url=url_for("console.report_workbook", **query),
        ledger_url=url_for("console.ledger_download", **query),
    ), 200 if form.valid else 422


def _download_range(staff):
    form = range_form()
    if not form.valid:
        return None, form
    return _range(staff, form), form


def _bad_range(staff, form):
    return _page(staff, form, None, None)


def _xlsx(sheets, name, ascii_name):
    chunks = xlsx_chunks(sheets)
    first = next(chunks)  # produced inside the view: a database failure at the start is a clean error page
    return streamed_download(itertools.chain([first], chunks), XLSX_MIME, f"{name}.xlsx", f"{ascii_name}.xlsx")


@bp.get("/reports/export")
@staff_page
def report_workbook(staff):
    """The summary (两张表: 汇总, 订单) and the daily series (每日积分) in one workbook."""
    found, form = _download_range(staff)
    if found is None:
        return _bad_range(staff, form)
    first_day, last_day, campus_id = found
    exports.record_export(staff.actor, "report_summary", campus_id=campus_id, format="xlsx", **_span(found))
    db.session.commit()  # audited before any row is read, as the API's downloads are
    report = reports.summary(first_day, last_day, campus_id=campus_id)
    daily = daily_report.daily(first_day, last_day, campus_id=campus_id)
    campus = db.session.get(Campus, campus_id).name if campus_id is not None else "全部校区"
    sheets = [*daily_report.summary_sheets(report, campus), daily_report.daily_sheet(daily)]
    span = f"{first_day.isoformat()}_{last_day.isoformat()}"
    return _xlsx(sheets, f"积分报表_{span}", f"report_{span}")


@bp.get("/reports/ledger")
@staff_page
def ledger_download(staff):
    """Every ledger entry of the range (office.exports.ledger_sheet), streamed."""
    found, form = _download_range(staff)
    if found is None:
        return _bad_range(staff, form)
    first_day, last_day, campus_id = found
    exports.record_export(staff.actor, "ledger", campus_id=campus_id, format="xlsx", **_span(found))
    db.session.commit()
    span = f"{first_day.isoformat()}_{last_day.isoformat()}"
    return _xlsx([exports.ledger_sheet(first_day, last_day, campus_id=campus_id)], f"积分流水_{span}", f"ledger_{span}")


def _span(found):
    return {"from": found[0], "to": found[1]}
