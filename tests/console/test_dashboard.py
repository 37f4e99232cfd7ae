"""概览: the figures and the chart's data, for the admin's scope."""

import json
import re

from school_points.accounts import ledger
from school_points.models import Notification
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM
from tests.console.conftest import ConsoleClient


def text(response):
    return response.get_data(as_text=True)


def chart_of(page):
    return json.loads(
        re.search(r'<script type="application/json" id="points-chart-data">(.*?)</script>', page, re.S)[1]
    )


def figure(page, label):
    return re.search(
        rf'<div class="figure-label">{label}</div>\s*<(?:div|a)[^>]*class="figure-value"[^>]*>([^<]+)<', page
    )[1]


def test_the_dashboard_shows_todays_points_and_their_value(boss, make_student):
    student = make_student(balance=150)  # an adjustment: issued today
    account = ledger.lock(student.id)
    ledger.credit(account, 30, "evaluation", key="t:eval", actor=SYSTEM, note="课堂评价")
    db.session.commit()
    page = text(boss.get("/console/"))
    assert figure(page, "今日发放") == "180"
    assert figure(page, "未使用积分") == "180" and "价值 ¥1.80" in page
    chart = chart_of(page)
    assert len(chart["labels"]) == 30 and chart["x_title"] == "日期" and chart["y_title"] == "积分"
    assert {bar["label"] for bar in chart["bars"]} == {"课堂评价", "手动调整"}
    assert chart["bars"][0]["data"][-1] > 0 and chart["line"]["label"] == "兑换消耗"


def test_pending_orders_and_failed_notifications_link_to_their_screens(boss, make_student):
    student = make_student()
    db.session.add(Notification(kind="redeemed", dedupe_key="x1", student_id=student.id, status="failed"))
    db.session.commit()
    page = text(boss.get("/console/"))
    assert figure(page, "发送失败的通知") == "1"
    assert 'href="/console/notifications?status=failed"' in page
    assert 'href="/console/redemptions?status=pending"' in page


def test_a_campus_admin_sees_their_campus_only(app, make_admin, make_campus, make_student):
    home, other = make_campus("东校区"), make_campus("西校区")
    make_student("本校", campus_id=home.id, balance=10)
    make_student("别校", campus_id=other.id, balance=500)
    make_admin("local", campus_id=home.id)
    local = ConsoleClient(app.test_client())
    local.login("local")
    assert figure(text(local.get("/console/")), "未使用积分") == "10"
