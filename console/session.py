"""Signing staff in and out of the console, and the guard in front of every console page.

A console session is the admin API's own admin token (people/tokens.py), kept inside Flask's
signed session cookie (`sp_console`, HttpOnly, SameSite=Lax, Secure over HTTPS: config.py,
webkit/sessions.py). So the token's expiry, logout revocation and the admin's session generation
(disabling an admin or changing their password ends every session at once) apply here exactly as
they do to the API. On top of that the session records when its admin last did something; after
CONSOLE_IDLE_MINUTES of nothing it ends (and its token is revoked).

Every console page needs a signed-in admin unless its view is marked `@public`; unsafe methods
(POST, PUT, PATCH, DELETE) need the session's CSRF token (a form's hidden `csrf_token` field, or
the `X-CSRFToken` header static/console.js adds to htmx requests).
"""

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for

from school_points.models import Admin
from school_points.people import admin_login, tokens
from school_points.people.admins import session_is_current
from school_points.platform import clock
from school_points.platform.errors import RateLimited
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from school_points.school.scoping import Scope, scope_of
from staffkit.schemas import LoginIn

from . import bp
from .forms import Form
from .kit import csrf

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# The last-activity time is rewritten at most this often (each rewrite is a new Set-Cookie).
SEEN_RESOLUTION_SECONDS = 30


@dataclass(frozen=True)
class Staff:
    """The signed-in admin of this request, their campus scope and their name in the audit log."""

    admin: Admin
    scope: Scope
    actor: Actor

    @property
    def is_super(self):
        return self.scope.is_super


def public(view):
    """Mark a view as open to visitors who are not signed in (the login form)."""
    view.console_public = True
    return view


def staff_page(view=None, *, super_only=False):
    """Decorate a console view: it runs only for a signed-in admin (else: the login form, with
    `next` back here) and receives `staff` (a Staff: `.admin`, `.scope`, `.actor`) as its first
    argument. `@staff_page(super_only=True)`: campus admins get the 403 page."""

    def decorate(inner):
        @wraps(inner)
        def wrapper(*args, **kwargs):
            staff = g.get("staff")
            if staff is None:  # the guard already sent visitors to the login form; kept as a second lock
                return to_login()
            if super_only and not staff.is_super:
                return render_template(
                    "console/error.html", status=403, title="无权访问", message="只有总管理员可以打开此页面"
                ), 403
            return inner(staff, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def client_address():
    """The caller's address as the outermost trusted proxy saw it (ProxyFix, TRUSTED_PROXY_COUNT)."""
    return (request.remote_addr or "unknown")[:45]


@bp.before_request
def _guard():
    if request.endpoint == "console.static":
        return None
    g.client_address = client_address()
    # Flask-WTF remembers the page's CSRF token on `g`, which outlives the request when an app
    # context was pushed before it (tests, scripts): read it from this request's session.
    g.pop("csrf_token", None)
    if request.method not in SAFE_METHODS:
        csrf.protect()  # CSRFError → the "page expired" page (errors.py)
    g.staff, ended = _signed_in_staff()
    view = current_app.view_functions.get(request.endpoint)
    if g.staff is None and not getattr(view, "console_public", False):
        return to_login(ended)
    return None


def _signed_in_staff():
    """(Staff, None) for a live session; (None, why) otherwise: None (never signed in), "ended"
    (logged out elsewhere, disabled, password changed, token expired) or "idle"."""
    token = session.get("token")
    if not token:
        return None, None
    found = tokens.verified_claims("admin", token)
    admin = db.session.get(Admin, found.subject) if found is not None else None
    if found is None or not session_is_current(admin, found.generation):
        session.clear()
        return None, "ended"
    now = int(clock.epoch_seconds())
    seen = session.get("seen")
    if not isinstance(seen, int) or now - seen > current_app.config["CONSOLE_IDLE_MINUTES"] * 60:
        tokens.revoke(found)
        db.session.commit()
        session.clear()
        return None, "idle"
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        session["seen"] = now
    return Staff(admin, scope_of(admin), Actor.admin(admin.id)), None


ENDED_MESSAGES = {
    "idle": "长时间未操作，已自动退出，请重新登录",
    "ended": "登录已失效，请重新登录",
    None: "请先登录",
}


def to_login(reason=None):
    """Send a visitor to the login form with a message and `next` back to this page; an htmx
    request is told to load the login page as a whole (HX-Redirect) rather than swap it in."""
    flash(ENDED_MESSAGES.get(reason, ENDED_MESSAGES[None]), "warning")
    here = request.full_path.rstrip("?") if request.method == "GET" else request.referrer or ""
    target = url_for("console.dashboard", next=safe_next(here, default=None))
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def safe_next(value, default="") -> str | None:
    """`value` when it is a relative path inside the console (never another site, nor `//host`,
    nor a backslash a browser may read as a slash), else `default` (the dashboard)."""
    if isinstance(value, str) and value.startswith("/console/") and "\\" not in value:
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc and not value.startswith("//"):
            return value
    return url_for("console.dashboard") if default == "" else default


def login_page(form=None, status=200):
    """The login form (what /console/ shows a visitor)."""
    form = form or Form(LoginIn, load=False)
    return render_template("console/login.html", form=form, next=safe_next(request.values.get("next"))), status


@bp.post("/login")
@public
def login():
    form = Form(LoginIn)
    if not form.valid:
        return login_page(form, 422)
    try:
        admin = admin_login.sign_in(form.data["username"], form.data["password"], g.client_address)
    except RateLimited as exc:
        minutes = max(1, round(exc.details.get("retry_after", 60) / 60))
        form.fail(f"密码错误次数过多，请 {minutes} 分钟后再试")
        return login_page(form, 429)
    if admin is None:
        form.fail("用户名或密码错误")
        return login_page(form, 401)
    token, _ = tokens.issue("admin", admin.id, generation=admin.session_generation)
    session.clear()
    session["token"] = token
    session["seen"] = int(clock.epoch_seconds())
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
@public
def logout():
    found = tokens.claims("admin", session.get("token"))
    if found is not None:
        tokens.revoke(found)
        db.session.commit()
    session.clear()
    flash("已退出登录", "success")
    return redirect(url_for("console.dashboard"))
