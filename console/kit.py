"""What every console screen uses: CSRF protection, the navigation, template helpers, list pages
and the Post/Redirect/Get step after a change (docs/CONSOLE.md)."""

from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, g, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect

from school_points.office.exports import KIND_NAMES
from school_points.platform.clock import as_aware, school_tz
from webkit.pagination import keyset_page, page_args

from . import bp
from .assets import asset_url

# Checks only where the console's guard calls csrf.protect() (WTF_CSRF_CHECK_DEFAULT is off).
csrf = CSRFProtect()

# (path under /console/, label, super admins only). A screen that is not built yet still has its
# entry: the path it will live at (docs/CONSOLE.md).
NAV = (
    ("", "概览", False),
    ("students", "学员", False),
    ("import", "导入", False),
    ("classes", "班级", False),
    ("teachers", "老师", False),
    ("goods", "商品", False),
    ("redemptions", "兑换", False),
    ("settings", "设置", False),
    ("reports", "报表", False),
    ("audit", "操作日志", False),
    ("notifications", "通知", False),
    ("admins", "管理员", True),
)

STATUS_NAMES = {"active": "在读", "archived": "已归档", "erased": "已删除"}


def init_app(app):
    """Hook the console into the app: CSRF protection (for the console's forms only)."""
    csrf.init_app(app)


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    active: bool


def nav_items():
    """The navigation the signed-in admin sees (管理员 only for super admins), the current one marked."""
    staff = g.get("staff")
    root = url_for("console.dashboard")
    items = []
    for path, label, super_only in NAV:
        if super_only and not (staff and staff.is_super):
            continue
        href = root + path
        active = request.path == root if not path else request.path.startswith(href)
        items.append(NavItem(href, label, active))
    return items


@bp.context_processor
def _template_helpers():
    return {
        "asset": asset_url,
        "nav_items": nav_items,
        "school_name": current_app.config["SCHOOL_NAME"],
        "staff": g.get("staff"),
    }


@bp.app_template_filter("local_time")
def local_time(value, pattern="%Y-%m-%d %H:%M"):
    """A stored time as the school's wall clock ("2026-12-03 14:07")."""
    value = as_aware(value)
    return "" if value is None else value.astimezone(school_tz()).strftime(pattern)


@bp.app_template_filter("kind_name")
def kind_name(kind):
    """A ledger kind in Chinese (课堂评价, 兑换, ...)."""
    return KIND_NAMES.get(kind, kind)


@bp.app_template_filter("status_name")
def status_name(status):
    """A student's status in Chinese."""
    return STATUS_NAMES.get(status, status)


@bp.app_template_filter("signed")
def signed(number):
    """+5 / -3 / 0."""
    return f"{number:+d}" if number else "0"


@bp.app_template_global("url_with")
def url_with(**changes) -> str:
    """This page's URL with some query parameters changed (None removes one): filters, pages."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@dataclass
class Page:
    """One page of a list: its rows and the cursor of the next page (None on the last)."""

    rows: list[Any]
    next_cursor: str | None
    first: bool


def paged(query, id_column, default_limit=20) -> Page:
    """The newest-first page of `query` that `?cursor=` asks for (webkit.pagination); the table
    macro's pager links to the next page and back to the first."""
    limit, cursor = page_args(default_limit=default_limit)
    rows, next_cursor = keyset_page(query, id_column, limit, cursor)
    return Page(rows, next_cursor, first=cursor is None)


def done(message, endpoint, **values):
    """After a change: a success message and a redirect (Post/Redirect/Get), so reloading the
    page that follows never repeats the change."""
    flash(message, "success")
    return redirect(url_for(endpoint, **values))
