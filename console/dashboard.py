"""概览: the front page. Signed out, /console/ is the login form."""

from flask import g, render_template, url_for

from school_points.office.exports import KIND_NAMES
from school_points.office.overview import overview
from school_points.office.reports import ISSUING_KINDS

from . import bp
from .session import login_page, public


@bp.get("/")
@public
def dashboard():
    staff = g.staff
    if staff is None:
        return login_page()
    figures = overview(staff.scope)
    return render_template(
        "console/dashboard.html",
        figures=figures,
        chart=chart_data(figures["chart"]),
        redemptions_url=url_for("console.dashboard") + "redemptions?status=pending",
        notifications_url=url_for("console.dashboard") + "notifications?status=failed",
    )


def chart_data(days):
    """The chart's data for static/console.js: a bar series per kind that issued anything in the
    period (stacked), and the points spent as a line. Rendered as JSON in a
    <script type="application/json"> block: data, never code, so the CSP needs no inline script."""
    kinds = [kind for kind in ISSUING_KINDS if any(day["issued"][kind] for day in days)]
    return {
        "labels": [day["date"][5:] for day in days],
        "bars": [
            {"label": KIND_NAMES.get(kind, kind), "data": [day["issued"][kind] for day in days]} for kind in kinds
        ],
        "line": {"label": "兑换消耗", "data": [day["spent"] for day in days]},
        "x_title": "日期",
        "y_title": "积分",
    }
