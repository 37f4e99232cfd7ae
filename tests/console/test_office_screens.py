"""报表, 操作日志, 通知 and 管理员 / 修改密码 through the test client."""

import io
from datetime import timedelta

import openpyxl
from sqlalchemy import func, select

from school_points.models import Admin, AuditLog, Notification
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.actors import Actor
from tests.console.conftest import PASSWORD, ConsoleClient


def text(response):
    return response.get_data(as_text=True)


def table(response):
    """The page's table body (the filters' drop-downs name every action and kind too)."""
    return text(response).partition("<tbody>")[2]


def audit_count(action):
    return db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


def signed_in(app, username):
    browser = ConsoleClient(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


# ---------------------------------------------------------------- 报表


def test_reports_default_to_the_last_30_days(boss, make_student):
    make_student("王小明", balance=42)
    page = boss.get("/console/reports")
    body = text(page)
    today = local_today()
    assert page.status_code == 200
    assert f'value="{(today - timedelta(days=29)).isoformat()}"' in body and f'value="{today.isoformat()}"' in body
    assert "发放合计" in body and "兑换订单" in body and "未使用积分" in body and "¥0.42" in body
    assert 'data-chart="report-chart-data"' in body and '"x_title": "日期"' in body


def test_a_range_over_366_days_is_a_field_error(boss):
    page = boss.get("/console/reports?from=2025-01-01&to=2026-06-01")
    assert page.status_code == 422
    assert '<p class="field-error" id="e-from">时间范围不能超过 366 天</p>' in text(page)
    backwards = boss.get("/console/reports?from=2026-06-01&to=2026-05-01")
    assert "开始日期不能晚于结束日期" in text(backwards)
    assert boss.get("/console/reports/ledger?from=2025-01-01&to=2026-06-01").status_code == 422


def test_the_report_workbook_holds_the_summary_and_the_daily_series(boss, make_student):
    make_student("王小明", balance=42)
    today = local_today().isoformat()
    response = boss.client.get(f"/console/reports/export?from={today}&to={today}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["汇总", "订单", "每日积分"]
    assert audit_count("export") == 1


def test_the_ledger_export_has_the_ranges_entries(boss, make_student):
    make_student("王小明", balance=42)
    response = boss.client.get("/console/reports/ledger")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(response.data)).active.values)
    assert len(rows) == 2 and "王小明" in rows[1] and 42 in rows[1]
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
    assert entry.target_type == "ledger"


def test_a_campus_admin_reports_on_its_campus_only(app, make_admin, make_campus, campus):
    other = make_campus("北校区")
    make_admin("keeper", campus_id=campus.id)
    keeper = signed_in(app, "keeper")
    assert 'name="campus_id"' not in text(keeper.get("/console/reports"))
    assert keeper.get(f"/console/reports?campus_id={other.id}").status_code == 404
    assert keeper.get(f"/console/reports/ledger?campus_id={other.id}").status_code == 404


# ---------------------------------------------------------------- 操作日志


def test_the_audit_log_filters_and_shows_changes_as_escaped_text(boss, make_student):
    student = make_student("王小明", balance=10)
    boss.post(f"/console/students/{student.id}/adjustments", {"delta": "5", "reason": "<b>奖励</b>"})
    audit.record(Actor.system(), "goods.update", "goods", 7, changes={"old": {"name": "旧"}, "new": {"name": "新"}})
    db.session.commit()
    page = text(boss.get("/console/audit"))
    assert "调整积分" in page and "修改商品" in page and "&lt;b&gt;奖励&lt;/b&gt;" in page and "<b>奖励" not in page
    assert "<del>旧</del> → <span>新</span>" in page
    only = table(boss.get("/console/audit?action=goods.update"))
    assert "修改商品" in only and "调整积分" not in only
    boss_id = db.session.scalar(select(Admin.id).where(Admin.username == "boss"))
    by_actor = table(boss.get(f"/console/audit?actor_type=admin&actor_id={boss_id}"))
    assert "调整积分" in by_actor and "修改商品" not in by_actor
    by_target = table(boss.get(f"/console/audit?target_type=student&target_id={student.id}"))
    assert "调整积分" in by_target and "修改商品" not in by_target
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    assert "没有找到操作记录" in text(boss.get(f"/console/audit?from={tomorrow}"))
    bad = boss.get("/console/audit?from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 422 and "开始日期不能晚于结束日期" in text(bad)


def test_a_campus_admin_sees_only_its_campus_entries(app, make_admin, make_campus, campus):
    other = make_campus("北校区")
    make_admin("keeper", campus_id=campus.id)
    audit.record(Actor.system(), "class.create", "class", 1, campus_id=campus.id)
    audit.record(Actor.system(), "class.delete", "class", 2, campus_id=other.id)
    db.session.commit()
    page = table(signed_in(app, "keeper").get("/console/audit"))
    assert "新建班级" in page and "删除班级" not in page


# ---------------------------------------------------------------- 通知


def test_the_outbox_shows_attempts_errors_and_a_link_to_the_student(boss, make_student):
    student = make_student("王小明")
    db.session.add_all(
        [
            Notification(
                kind="redeemed",
                dedupe_key="n1",
                student_id=student.id,
                status="failed",
                attempts=3,
                last_error_code=43004,
                last_error="require subscribe for oABCDEFGHIJKLMNOPQRSTUVWXYZ0",
            ),
            Notification(kind="issued", dedupe_key="n2", student_id=student.id, status="sent", attempts=1),
        ]
    )
    db.session.commit()
    page = text(boss.get("/console/notifications"))
    assert 'class="row-failed"' in page and "发送失败" in page and "43004" in page and "o***" in page
    assert "oABCDEFGHIJ" not in page and f'href="/console/students/{student.id}">王小明</a>' in page
    failed = table(boss.get("/console/notifications?status=failed"))
    assert "礼品已发放" not in failed and "兑换成功" in failed
    assert boss.get("/console/notifications?status=lost").status_code == 422


def test_a_campus_admin_gets_404_for_another_campus_student(app, make_admin, make_campus, make_student, campus):
    other = make_campus("北校区")
    stranger = make_student("张三", campus_id=other.id)
    make_admin("keeper", campus_id=campus.id)
    keeper = signed_in(app, "keeper")
    assert keeper.get(f"/console/notifications?student_id={stranger.id}").status_code == 404


# ---------------------------------------------------------------- 管理员


def test_a_super_admin_creates_an_admin_with_password_rules(boss, campus):
    short = boss.post("/console/admins/new", {"username": "keeper", "password": "short", "role": "campus"})
    assert short.status_code == 422
    assert "密码至少 10 个字符" in text(short)
    no_campus = boss.post(
        "/console/admins/new", {"username": "keeper", "password": "keeper-secret-1", "role": "campus"}
    )
    assert '<p class="field-error" id="e-campus_id">校区管理员必须指定校区</p>' in text(no_campus)
    same = boss.post(
        "/console/admins/new",
        {"username": "keeper12345", "password": "keeper12345", "role": "campus", "campus_id": str(campus.id)},
    )
    assert same.status_code == 422 and 'id="e-password"' in text(same)
    made = boss.post(
        "/console/admins/new",
        {
            "username": "keeper",
            "password": "keeper-secret-1",
            "role": "campus",
            "campus_id": str(campus.id),
            "active": "1",
        },
    )
    assert made.status_code == 302
    assert "已新建管理员 keeper" in text(boss.get(made.headers["Location"]))
    admin = db.session.scalars(select(Admin).where(Admin.username == "keeper")).one()
    assert admin.campus_id == campus.id and admin.active and audit_count("admin.create") == 1


def test_disabling_an_admin_ends_their_console_session(app, boss, make_admin, campus):
    keeper = make_admin("keeper", campus_id=campus.id)
    their = signed_in(app, "keeper")
    assert their.get("/console/students").status_code == 200
    saved = boss.post(f"/console/admins/{keeper.id}", {"role": "campus", "campus_id": str(campus.id)})
    assert saved.status_code == 302
    assert "其全部登录已结束" in text(boss.get(saved.headers["Location"]))
    ended = their.get("/console/students")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/console/?next=")
    assert audit_count("admin.update") == 1


def test_the_last_super_admin_cannot_be_disabled(boss):
    me = db.session.scalar(select(Admin.id).where(Admin.username == "boss"))
    refused = boss.post(f"/console/admins/{me}", {"role": "super", "active": ""})
    assert refused.status_code == 422 and "至少要保留一个启用的总管理员" in text(refused)
    db.session.rollback()
    assert db.session.get(Admin, me).active


def test_campus_admins_get_403_and_unknown_ids_404(app, boss, make_admin, campus):
    make_admin("keeper", campus_id=campus.id)
    keeper = signed_in(app, "keeper")
    assert keeper.get("/console/admins").status_code == 403
    assert keeper.post("/console/admins/new", {"username": "x"}).status_code == 403
    assert boss.get("/console/admins/99999").status_code == 404
    assert 'href="/console/admins"' not in text(keeper.get("/console/"))  # not in the navigation


def test_admin_forms_need_the_csrf_token(boss, campus):
    refused = boss.post(
        "/console/admins/new",
        {"username": "keeper", "password": "keeper-secret-1", "role": "super"},
        csrf=False,
    )
    assert refused.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Admin)) == 1


def test_changing_ones_password_ends_other_sessions_and_keeps_this_one(app, boss, make_admin):
    other_browser = signed_in(app, "boss")
    wrong = boss.post("/console/password", {"old_password": "nope", "new_password": "brand-new-secret"})
    assert wrong.status_code == 422 and '<p class="field-error" id="e-old_password">原密码不正确</p>' in text(wrong)
    short = boss.post("/console/password", {"old_password": PASSWORD, "new_password": "short"})
    assert "密码至少 10 个字符" in text(short)
    changed = boss.post("/console/password", {"old_password": PASSWORD, "new_password": "brand-new-secret"})
    assert changed.status_code == 302
    assert "密码已修改" in text(boss.get("/console/"))
    assert boss.get("/console/students").status_code == 200
    assert other_browser.get("/console/students").status_code == 302
    assert audit_count("admin.password") == 1
    assert 'href="/console/password"' in text(boss.get("/console/students"))


def test_filters_left_at_all_are_not_errors(boss):
    """A filter form sends its blank drop-downs and boxes ("全部"): they filter nothing."""
    assert boss.get("/console/notifications?status=&kind=&student_id=").status_code == 200
    assert boss.get("/console/audit?action=&actor_type=&actor_id=&target_type=&target_id=&from=&to=").status_code == 200
    assert "筛选条件有误" not in text(boss.get("/console/students?q=&class_id=&status="))
