"""兑换, the orders desk: pickup-code lookup, issue, cancel with a reason, filters, export,
double clicks, domain errors as messages, campus scope."""

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from school_points.accounts.reconcile import find_differences
from school_points.mall.redemption import redeem
from school_points.models import AuditLog, Goods, Notification, Redemption
from school_points.platform.clock import local_today, utcnow
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from tests.conftest import balance_of, requires_pg, run_concurrently
from tests.console.conftest import ConsoleClient


def text(response):
    return response.get_data(as_text=True)


def place(student, goods, quantity=1, key=None):
    order = redeem(student.id, goods.id, quantity, key=key or f"o-{student.id}-{goods.id}", actor=Actor.system())
    db.session.commit()
    return order


def fresh(order_id):
    db.session.expire_all()
    return db.session.get(Redemption, order_id)


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_pickup_code_finds_the_order_card(boss, make_student, make_goods):
    order = place(make_student("王小明", balance=50), make_goods("铅笔", points=30))
    code = fresh(order.id).pickup_code
    page = text(boss.get(f"/console/redemptions?code={code.lower()[:6]} {code.lower()[6:]}"))
    assert "取货码对应的订单" in page and "王小明" in page and "铅笔 × 1" in page and "待发放" in page
    assert f"/console/redemptions/{order.id}/issue" in page
    missing = text(boss.get("/console/redemptions?code=NOPE1234"))
    assert "没有找到该取货码的订单" in missing and "取货码对应的订单" not in missing
    assert code not in text(boss.get("/console/redemptions"))  # the list never shows codes


def test_issuing_at_the_desk_is_the_apis_issue(boss, make_student, make_goods, make_guardian):
    student = make_student("王小明", balance=50)
    make_guardian(student)
    order = place(student, make_goods("铅笔", points=30))
    code = fresh(order.id).pickup_code
    desk = f"/console/redemptions?code={code}"
    boss.get(desk)
    form = {"form_key": "c" * 32, "next": desk}
    done = boss.post(f"/console/redemptions/{order.id}/issue", form)
    assert done.status_code == 302 and done.headers["Location"] == desk
    order = fresh(order.id)
    assert (order.status, order.issue_method, order.issued_by_type) == ("issued", "admin", "admin")
    assert count(AuditLog, AuditLog.action == "redemption.issue") == 1
    assert count(Notification, Notification.kind == "issued", Notification.student_id == student.id) == 1
    page = text(boss.get(desk))
    assert "已发放：王小明 的「铅笔」× 1" in page and "已发放" in page
    # The same form again (a double click): the same answer, nothing more happens.
    again = boss.post(f"/console/redemptions/{order.id}/issue", form)
    assert "已发放：王小明" in text(boss.get(again.headers["Location"]))
    assert count(AuditLog, AuditLog.action == "redemption.issue") == 1
    # Another form (another tab): the domain's refusal, as a message.
    other = boss.post(f"/console/redemptions/{order.id}/issue", {"form_key": "d" * 32})
    assert "该订单已发放" in text(boss.get(other.headers["Location"]))


def test_cancelling_needs_a_reason_and_refunds_once(boss, make_student, make_goods):
    student, goods = make_student("王小明", balance=50), make_goods("铅笔", points=30, stock=5)
    order = place(student, goods)
    assert balance_of(student.id) == 20
    path = f"/console/redemptions/{order.id}/cancel"
    blank = boss.post(path, {"reason": "  "})
    assert blank.status_code == 422 and 'id="e-reason">必填' in text(blank)
    assert fresh(order.id).status == "pending" and balance_of(student.id) == 20
    form = {"reason": "家长要求换礼品", "form_key": "e" * 32}
    done = boss.post(path, form)
    assert done.status_code == 302
    assert "30 积分已退回 王小明" in text(boss.get(done.headers["Location"]))
    assert balance_of(student.id) == 50 and db.session.get(Goods, goods.id).stock == 5
    order = fresh(order.id)
    assert (order.status, order.cancel_reason) == ("cancelled", "家长要求换礼品")
    boss.post(path, form)  # the double click
    refused = boss.post(path, {"reason": "再来", "form_key": "f" * 32})
    assert "该订单当前状态不可操作" in text(boss.get(refused.headers["Location"]))
    assert balance_of(student.id) == 50 and count(AuditLog, AuditLog.action == "redemption.cancel") == 1
    assert find_differences() == []
    detail = text(boss.get(f"/console/redemptions/{order.id}"))
    assert "已取消" in detail and "家长要求换礼品" in detail and "管理员 boss" in detail


def test_an_issued_order_cannot_be_cancelled(boss, make_student, make_goods):
    student = make_student(balance=50)
    order = place(student, make_goods(points=30))
    boss.post(f"/console/redemptions/{order.id}/issue", {})
    refused = boss.post(f"/console/redemptions/{order.id}/cancel", {"reason": "x"})
    assert "该订单当前状态不可操作" in text(boss.get(refused.headers["Location"]))
    assert fresh(order.id).status == "issued" and balance_of(student.id) == 20


def test_the_list_filters_by_status_campus_and_school_day(boss, make_student, make_goods, make_campus):
    east = make_campus("东校区")
    pen, book = make_goods("铅笔", points=10), make_goods("图画书", points=10)
    a, b = make_student("甲", balance=100), make_student("乙", balance=100, campus_id=east.id)
    old = place(a, book)
    old.created_at = utcnow() - timedelta(days=3)
    db.session.commit()
    issued = place(a, pen)
    place(b, pen)
    boss.post(f"/console/redemptions/{issued.id}/issue", {})
    assert "图画书" not in text(boss.get("/console/redemptions?status=issued"))
    in_east = text(boss.get(f"/console/redemptions?campus_id={east.id}"))
    assert "乙" in in_east and "甲</a>" not in in_east
    today = local_today().isoformat()
    recent = text(boss.get(f"/console/redemptions?from={today}"))
    assert "铅笔" in recent and "图画书" not in recent
    bad = boss.get("/console/redemptions?from=2026-02-30&to=2020-01-01")
    assert bad.status_code == 200 and "筛选条件有误" in text(bad)


def test_the_export_follows_the_filters_and_is_audited(boss, make_student, make_goods):
    student = make_student("王小明", balance=100)
    place(student, make_goods("铅笔", points=10))
    issued = place(student, make_goods("图画书", points=20))
    boss.post(f"/console/redemptions/{issued.id}/issue", {})
    page = text(boss.get("/console/redemptions?status=issued"))
    assert "/console/redemptions/export?status=issued" in page
    response = boss.client.get("/console/redemptions/export?status=issued&format=csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert len(rows) == 2 and "图画书" in rows[1] and "已发放" in rows[1]
    xlsx = boss.client.get("/console/redemptions/export")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == 3
    entries = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export", AuditLog.target_type == "redemptions")
    ).all()
    assert len(entries) == 2
    bad = boss.get("/console/redemptions/export?format=pdf")
    assert bad.status_code == 302 and "导出条件有误" in text(boss.get(bad.headers["Location"]))


def test_a_campus_admin_never_reaches_another_campuss_orders(app, make_admin, make_campus, make_student, make_goods):
    home, other = make_campus("东校区"), make_campus("西校区")
    pen = make_goods("铅笔", points=10)
    ours = place(make_student("本校学员", balance=50, campus_id=home.id), pen)
    theirs = place(make_student("别校学员", balance=50, campus_id=other.id), pen)
    make_admin("local", campus_id=home.id)
    local = ConsoleClient(app.test_client())
    local.login("local")
    listed = text(local.get("/console/redemptions"))
    assert "本校学员" in listed and "别校学员" not in listed and "西校区" not in listed
    code = fresh(theirs.id).pickup_code
    assert "没有找到该取货码的订单" in text(local.get(f"/console/redemptions?code={code}"))
    assert local.get(f"/console/redemptions/{theirs.id}").status_code == 404
    assert local.post(f"/console/redemptions/{theirs.id}/issue", {}).status_code == 404
    assert local.post(f"/console/redemptions/{theirs.id}/cancel", {"reason": "x"}).status_code == 404
    assert local.get(f"/console/redemptions/export?campus_id={other.id}").status_code == 404
    assert fresh(theirs.id).status == "pending"
    assert ours.id


def test_without_the_csrf_token_nothing_happens(boss, make_student, make_goods):
    order = place(make_student(balance=50), make_goods(points=30))
    assert boss.post(f"/console/redemptions/{order.id}/issue", {}, csrf=False).status_code == 400
    assert boss.post(f"/console/redemptions/{order.id}/cancel", {"reason": "x"}, csrf=False).status_code == 400
    assert fresh(order.id).status == "pending"


def test_names_with_markup_are_text(boss, make_student, make_goods):
    order = place(make_student("<script>alert(1)</script>", balance=50), make_goods("<b>笔</b>", points=30))
    code = fresh(order.id).pickup_code
    for path in ("/console/redemptions", f"/console/redemptions/{order.id}", f"/console/redemptions?code={code}"):
        page = text(boss.get(path))
        assert "<script>alert(1)</script>" not in page and "<b>笔</b>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@requires_pg
def test_a_double_click_racing_itself_issues_once(app, boss, make_student, make_goods, make_guardian):
    student = make_student(balance=50)
    make_guardian(student)
    order_id = place(student, make_goods(points=30)).id
    boss.get("/console/redemptions")
    form = {"form_key": "9" * 32, "next": "/console/redemptions"}

    def click(_):
        response = boss.post(f"/console/redemptions/{order_id}/issue", form)
        return response.status_code

    assert run_concurrently(app, click, range(3)) == [302, 302, 302]
    assert fresh(order_id).status == "issued"
    assert count(AuditLog, AuditLog.action == "redemption.issue") == 1
    assert count(Notification, Notification.kind == "issued") == 1
    assert "已发放" in text(boss.get("/console/redemptions"))
    assert "该订单已发放" not in text(boss.get("/console/redemptions"))
