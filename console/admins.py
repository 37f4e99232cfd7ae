"""管理员: super admins list, create and change admin accounts (people/admin_accounts.py, the
API's /admins); and 修改密码, every admin's own password (the API's POST /auth/password).
Disabling an admin, or changing their password, role or campus, ends their console and API
sessions at once (the session generation their tokens carry)."""

from flask import flash, redirect, render_template, request, session, url_for
from werkzeug.datastructures import MultiDict

from school_points.models import Admin
from school_points.people import admin_accounts, admin_login, tokens
from school_points.platform import ratelimit
from school_points.platform.errors import DomainError, RateLimited
from school_points.platform.extensions import db
from staffkit.staff_schemas import AdminIn, AdminPatch, PasswordChangeIn

from . import bp
from .forms import Form
from .kit import done, paged
from .reports import campus_choices
from .session import staff_page

ROLE_CHOICES = (("super", "总管理员"), ("campus", "校区管理员"))
PASSWORD_HINT = "至少 10 个字符，不能与用户名相同"


def _account_form(schema_class, formdata, **kwargs):
    """A super admin has no campus: the campus box is ignored when the role is 总管理员."""
    values = MultiDict(formdata)
    if values.get("role") == "super":
        values.pop("campus_id", None)
    return Form(schema_class, values, load=True, **kwargs)


@bp.get("/admins")
@staff_page(super_only=True)
def admin_list(staff):
    page = paged(admin_accounts.list_admins_query(staff.scope), Admin.id)
    return render_template(
        "console/admins/list.html", page=page, campuses=dict(campus_choices(staff.scope)), roles=dict(ROLE_CHOICES)
    )


@bp.route("/admins/new", methods=["GET", "POST"])
@staff_page(super_only=True)
def admin_new(staff):
    if request.method == "GET":
        form = Form(AdminIn, load=False, initial={"role": "campus", "active": True})
    else:
        form = _account_form(AdminIn, request.form)
        if form.valid:
            try:
                admin = admin_accounts.create(form.data, scope=staff.scope, actor=staff.actor)
            except DomainError as exc:
                db.session.rollback()
                form.fail_with(exc)
            else:
                db.session.commit()
                return done(f"已新建管理员 {admin.username}", "console.admin_list")
    return _form_page(staff, form, None)


@bp.route("/admins/<int:admin_id>", methods=["GET", "POST"])
@staff_page(super_only=True)
def admin_edit(staff, admin_id):
    admin = admin_accounts.get_admin(admin_id, staff.scope)  # NotFound → the 404 page
    if request.method == "GET":
        initial = {"role": admin.role, "campus_id": admin.campus_id, "active": admin.active}
        return _form_page(staff, Form(AdminPatch, load=False, initial=initial), admin)
    wanted = ["role", "campus_id", "active"]
    if request.form.get("password", "") != "":
        wanted.append("password")  # an empty box keeps the password
    form = _account_form(AdminPatch, request.form, only=wanted, partial=True)
    if form.valid:
        generation = admin.session_generation
        try:
            admin = admin_accounts.update(admin.id, form.data, scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            db.session.rollback()
            form.fail_with(exc)
        else:
            db.session.commit()
            ended = "，其全部登录已结束" if admin.session_generation != generation else ""
            return done(f"已保存管理员 {admin.username}{ended}", "console.admin_list")
    return _form_page(staff, form, admin)


def _form_page(staff, form, admin):
    return render_template(
        "console/admins/form.html",
        form=form,
        admin=admin,
        roles=ROLE_CHOICES,
        campus_choices=campus_choices(staff.scope),
        password_hint=PASSWORD_HINT,
    ), 422 if form.errors else 200


# ------------------------------------------------------------------ one's own password


@bp.route("/password", methods=["GET", "POST"])
@staff_page
def own_password(staff):
    if request.method == "GET":
        return render_template("console/admins/password.html", form=Form(PasswordChangeIn, load=False))
    form = Form(PasswordChangeIn)
    if form.valid:
        subject = str(staff.admin.id)
        try:
            # Counted before the check, as the API counts it (5 wrong old passwords per 15 minutes).
            ratelimit.hit(
                "admin_password",
                subject,
                limit=admin_login.WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS,
                window_seconds=admin_login.LOGIN_WINDOW,
            )
            admin = admin_accounts.change_own_password(
                staff.admin, form.data["old_password"], form.data["new_password"], actor=staff.actor
            )
        except RateLimited as exc:
            minutes = max(1, round(exc.details.get("retry_after", 60) / 60))
            form.fail(f"原密码错误次数过多，请 {minutes} 分钟后再试")
        except admin_accounts.WrongPassword as exc:
            db.session.rollback()
            form.fail_with(exc)
        except DomainError as exc:
            db.session.rollback()
            ratelimit.forgive("admin_password", subject)  # the old password was not what failed
            form.fail_with(exc)
        else:
            db.session.commit()
            ratelimit.reset("admin_password", subject)
            # Every session of the admin ended, this one too: this browser carries on with a new token.
            token, _ = tokens.issue("admin", admin.id, generation=admin.session_generation)
            session["token"] = token
            flash("密码已修改，其他设备上的登录已全部退出", "success")
            return redirect(url_for("console.dashboard"))
    return render_template("console/admins/password.html", form=form), 422 if form.errors else 200
