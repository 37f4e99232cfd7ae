"""Families' data: exporting everything about a student, and erasing a student's personal data."""

import io
import json
import subprocess
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import redis as redis_lib
from flask import current_app
from sqlalchemy import func, select

from school_points.accounts.reconcile import find_differences
from school_points.media.uploads import upload_dir
from school_points.models import (
    AuditLog,
    Guardian,
    LedgerEntry,
    Notification,
    ProcessedWechatMessage,
    Student,
    Upload,
)
from school_points.office.erasure import erase_expired_archives
from school_points.people import tokens
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from school_points.points.evaluation import evaluate
from school_points.school.settings import update_settings
from tests.admin.admin_testkit import db_state
from tests.conftest import balance_of, requires_pg, run_concurrently
from tests.miniprogram_api.conftest import PNG, Mp

NAME = "王思远"
BIRTHDAY = "2016-05-03"
STUDENT_NO = "S2024-0917"
CONTENT = "今天练习钢琴四十分钟，王思远弹得很认真"
SHORT_CONTENT = "练琴"


def mp_for(client, user):
    token, _ = tokens.issue("user", user.id)
    return Mp(client, token, user.id)


@pytest.fixture
def child(app, api, campus, make_user, make_teacher, make_class, make_goods):
    """A student whose data is spread over every table the system has: returns a dict of what was
    stored (ids, the bind code, the upload's name, the guardian's Mp)."""
    created = api.post(
        "/students",
        {"name": NAME, "campus_id": campus.id, "birthday": BIRTHDAY},
        headers={"Idempotency-Key": "enrol-1"},
    )
    assert created.status_code == 201, created.json
    sid, bind_code = created.json["id"], created.json["bind_code"]
    db.session.get(Student, sid).student_no = STUDENT_NO
    db.session.commit()
    assert api.patch(f"/students/{sid}", {"name": NAME, "birthday": BIRTHDAY}).status_code == 200
    assert api.post(f"/students/{sid}/adjustments", {"delta": 200, "reason": f"{NAME}比赛获奖"}).status_code == 201

    client = app.test_client()
    mom_user = make_user(oa_openid="oa-mom-openid", nickname="思远妈妈")
    mom = mp_for(client, mom_user)
    assert mom.post("/me/students", {"bind_code": bind_code, "relation": "妈妈"}).status_code in (200, 201)
    upload = mom.post("/uploads", data={"file": (io.BytesIO(PNG), "a.png")}, content_type="multipart/form-data")
    assert upload.status_code == 201, upload.json
    url = upload.json["url"]
    record = mom.post("/growth-records", {"student_id": sid, "content": CONTENT, "media": [url]}, key="rec-1")
    assert record.status_code == 201, record.json
    short = mom.post("/growth-records", {"student_id": sid, "content": SHORT_CONTENT}, key="rec-2")
    assert short.status_code == 201
    rid = record.json["record"]["id"]
    assert mom.post(f"/growth-records/{rid}/shares", key="share-1").status_code in (200, 201)
    friend = mp_for(client, make_user())
    assert friend.post(f"/growth-records/{rid}/likes").status_code in (200, 201)
    goods = make_goods(points=30, stock=5)
    order = mom.post("/redemptions", {"student_id": sid, "goods_id": goods.id}, key="order-1")
    assert order.status_code == 201, order.json

    teacher = make_teacher(user=make_user())
    make_class(teachers=[teacher], students=[db.session.get(Student, sid)])
    update_settings({"notifications": {"points_awarded": {"enabled": True, "template_id": "tpl"}}})
    evaluate(teacher, [sid], points=3, comment=f"{NAME}积极发言", key="eval-1")
    db.session.commit()

    # The official account: a check-in acknowledged and awarded later, and a reply naming the child.
    db.session.add(
        ProcessedWechatMessage(
            dedupe_key="msg:9001",
            reply=f"<xml><ToUserName><![CDATA[oa-mom-openid]]></ToUserName><Content>已收到{SHORT_CONTENT}</Content></xml>",
            openid="oa-mom-openid",
            checkin={"content": SHORT_CONTENT, "media_id": ""},
            done_at=utcnow(),
        )
    )
    db.session.add(ProcessedWechatMessage(dedupe_key="msg:9002", reply=f"<xml>{NAME} 当前积分 170</xml>"))
    db.session.commit()
    if current_app.config.get("REDIS_URL"):
        redis_lib.Redis.from_url(current_app.config["REDIS_URL"]).set("wechat:reply:msg:9002", f"{NAME} 积分", ex=600)
    upload_name = url.rsplit("/", 1)[1]
    return {"id": sid, "bind_code": bind_code, "upload": upload_name, "mom": mom, "record_id": rid}


def full_dump() -> str:
    """Every row of every table as text: pg_dump's plain format, or SQLite's iterdump."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        text = subprocess.run(
            ["pg_dump", "--data-only", "--no-owner", url], check=True, capture_output=True, text=True
        ).stdout
        # pg_dump's header and \restrict lines hold a random key: not data
        return "\n".join(line for line in text.splitlines() if not line.startswith(("--", "\\")))
    connection = engine.raw_connection()
    try:
        return "\n".join(connection.driver_connection.iterdump())
    finally:
        connection.close()


def forms(text):
    """A string as stored: raw, and as json.dumps writes it (\\uXXXX escapes)."""
    return {text, json.dumps(text)[1:-1]}


def personal_strings(child):
    return [NAME, BIRTHDAY, STUDENT_NO, child["bind_code"], CONTENT, child["upload"]]


def summary(api):
    response = api.get("/reports/summary", **{"from": "2020-01-01"})
    assert response.status_code == 200
    return response.json


def test_erase_leaves_no_copy_of_the_childs_data_anywhere(api, child, is_pg):
    dump = full_dump()
    for text in personal_strings(child):
        assert any(form in dump for form in forms(text)), f"the fixture should have stored {text!r}"
    before = summary(api)

    response = api.post(f"/students/{child['id']}/erase", {"confirm": NAME})

    assert response.status_code == 200, response.json
    assert response.json["name"] == f"已删除学员#{child['id']}"
    assert response.json["status"] == "erased"
    assert response.json["bind_code"] is None and response.json["birthday"] is None
    dump = full_dump()
    for text in personal_strings(child):
        for form in forms(text):
            assert form not in dump, f"{text!r} is still stored"
    assert not (upload_dir() / child["upload"]).exists()
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    assert find_differences() == []
    assert summary(api) == before
    if current_app.config.get("REDIS_URL"):
        assert redis_lib.Redis.from_url(current_app.config["REDIS_URL"]).get("wechat:reply:msg:9002") is None


def test_erase_keeps_the_ledger_and_the_orders(api, child):
    entries = db.session.scalars(select(LedgerEntry.delta).where(LedgerEntry.student_id == child["id"])).all()

    api.post(f"/students/{child['id']}/erase", {"confirm": NAME})

    db.session.expire_all()
    assert db.session.scalars(select(LedgerEntry.delta).where(LedgerEntry.student_id == child["id"])).all() == entries
    orders = api.get("/redemptions", student_id=child["id"]).json["items"]
    assert [(o["goods_name"], o["total_points"]) for o in orders] == [("铅笔", 30)]
    assert db.session.scalar(select(func.count()).select_from(Guardian)) == 0
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.erase")).one()
    assert audit.changes["guardians"] == 1 and audit.changes["growth_records"] == 2


def test_erasing_twice_is_erasing_once(api, child):
    first = api.post(f"/students/{child['id']}/erase", {"confirm": NAME})
    state = db_state()
    dump = full_dump()

    second = api.post(f"/students/{child['id']}/erase", {"confirm": NAME})

    assert second.status_code == 200
    assert second.json == first.json
    assert db_state() == state
    assert full_dump() == dump


def test_a_wrong_confirmation_is_refused_and_changes_nothing(api, child):
    state, dump = db_state(), full_dump()

    response = api.post(f"/students/{child['id']}/erase", {"confirm": "王思"})

    assert response.status_code == 422
    assert response.json["error"]["code"] == "confirm_mismatch"
    assert db_state() == state
    assert full_dump() == dump


def test_a_campus_admin_may_not_erase_even_on_its_own_campus(campus_api, make_student):
    student = make_student(name=NAME)

    response = campus_api.post(f"/students/{student.id}/erase", {"confirm": NAME})

    assert response.status_code == 403
    assert response.json["error"]["code"] == "super_admin_required"
    db.session.expire_all()
    assert db.session.get(Student, student.id).name == NAME


def test_an_erased_student_cannot_be_renamed_or_given_a_bind_code(api, make_student):
    student = make_student(name=NAME)
    api.post(f"/students/{student.id}/erase", {"confirm": NAME})

    assert api.patch(f"/students/{student.id}", {"name": NAME}).json["error"]["code"] == "student_erased"
    assert api.post(f"/students/{student.id}/bind-code").status_code == 409
    assert api.get("/students", status="erased").json["items"][0]["id"] == student.id


def test_export_holds_every_section(api, child):
    response = api.get(f"/students/{child['id']}/export")

    assert response.status_code == 200
    data = response.json
    assert data["student"]["name"] == NAME and data["student"]["birthday"] == BIRTHDAY
    assert data["student"]["student_no"] == STUDENT_NO and data["student"]["bind_code"] == child["bind_code"]
    assert [g["relation"] for g in data["guardians"]] == ["妈妈"]
    assert data["guardians"][0]["bound_at"]
    assert {e["kind"] for e in data["ledger"]} >= {"adjustment", "redemption", "evaluation", "checkin"}
    assert data["orders"][0]["goods_name"] == "铅笔"
    record = next(r for r in data["growth_records"] if r["id"] == child["record_id"])
    assert record["content"] == CONTENT and record["media"][0].endswith(child["upload"])
    assert len(data["likes"]) == 1 and len(data["shares"]) == 1
    assert data["notifications"][0]["values"]["student"] == NAME


def test_export_is_audited_without_the_childs_data(api, child):
    api.get(f"/students/{child['id']}/export")

    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.export")).one()
    text = json.dumps(entry.changes, ensure_ascii=False)
    assert all(value not in text for value in personal_strings(child))


def test_export_as_a_workbook_has_a_typed_sheet_per_section(api, child):
    response = api.get(f"/students/{child['id']}/export", format="xlsx")

    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition and date.today().strftime("%Y%m%d")[:6] in disposition
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["学员", "家长", "积分流水", "兑换订单", "成长记录", "点赞", "分享", "通知", "签到"]
    student = book["学员"]
    assert student["A1"].value == "学员ID" and student["B2"].value == NAME
    assert student["F2"].value == datetime(2016, 5, 3)  # a date cell (openpyxl reads dates as datetimes)
    ledger = book["积分流水"]
    assert [cell.value for cell in ledger[1]][:4] == ["流水ID", "时间", "类型", "积分变动"]
    assert isinstance(ledger["D2"].value, int) and isinstance(ledger["B2"].value, datetime)


def test_another_campus_cannot_export(campus_api, make_student, other_campus):
    student = make_student(campus_id=other_campus.id)

    assert campus_api.get(f"/students/{student.id}/export").status_code == 404
    assert campus_api.get(f"/students/{student.id}/export", format="csv").status_code == 422


def test_archiving_stamps_archived_at_and_reactivating_clears_it(api, make_student):
    student = make_student()

    api.patch(f"/students/{student.id}", {"status": "archived"})
    db.session.expire_all()
    stamped = db.session.get(Student, student.id).archived_at
    api.patch(f"/students/{student.id}", {"status": "active"})
    db.session.expire_all()

    assert stamped is not None
    assert db.session.get(Student, student.id).archived_at is None


def test_the_retention_setting_is_validated(api):
    bad = api.patch("/settings", {"privacy": {"erase_archived_after_days": -1}})
    good = api.patch("/settings", {"privacy": {"erase_archived_after_days": 30}})

    assert bad.status_code == 422
    assert good.status_code == 200 and good.json["privacy"]["erase_archived_after_days"] == 30


def archived(make_student, name, days_ago, now):
    student = make_student(name=name)
    student.status, student.archived_at = "archived", now - timedelta(days=days_ago)
    db.session.commit()
    return student.id


def test_retention_erases_only_students_archived_long_enough(app, make_student):
    now = datetime(2026, 3, 31, 4, 0, tzinfo=datetime.now().astimezone().tzinfo).astimezone()
    old = archived(make_student, "张三丰", 40, now)
    recent = archived(make_student, "李四海", 10, now)
    active = make_student(name="赵五岳").id
    update_settings({"privacy": {"erase_archived_after_days": 30}})
    db.session.commit()

    assert erase_expired_archives(now=now) == 1

    db.session.expire_all()
    assert [db.session.get(Student, sid).status for sid in (old, recent, active)] == ["erased", "archived", "active"]
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.erase")).one()
    assert entry.actor_type == "system" and entry.target_id == str(old)
    assert erase_expired_archives(now=now) == 0


def test_retention_is_off_by_default(app, make_student):
    now = utcnow()
    old = archived(make_student, "张三丰", 4000, now)

    assert erase_expired_archives(now=now) == 0
    db.session.expire_all()
    assert db.session.get(Student, old).status == "archived"


def test_pending_notifications_about_an_erased_child_are_not_sent(api, child):
    api.post(f"/students/{child['id']}/erase", {"confirm": NAME})

    statuses = db.session.scalars(select(Notification.status).where(Notification.student_id == child["id"])).all()
    assert "pending" not in statuses


@requires_pg
def test_erasure_racing_redemptions_and_itself_keeps_the_accounts_straight(
    app, api, make_student, make_guardian, make_goods
):
    student = make_student(name=NAME, balance=100)
    mom = mp_for(app.test_client(), make_guardian(student))
    goods = make_goods(points=10, stock=10)
    token = api.token

    def act(kind):
        client = app.test_client()
        if kind == "erase":
            return client.post(
                f"/api/admin/v1/students/{student.id}/erase",
                json={"confirm": NAME},
                headers={"Authorization": f"Bearer {token}"},
            ).status_code
        return client.post(
            "/api/v1/redemptions",
            json={"student_id": student.id, "goods_id": goods.id},
            headers={"Authorization": f"Bearer {mom.token}"},
        ).status_code

    outcomes = run_concurrently(app, act, ["erase", "erase", "redeem", "redeem", "redeem", "redeem"])

    assert outcomes[:2] == [200, 200]
    assert set(outcomes[2:]) <= {201, 404}, outcomes
    assert find_differences() == []
    assert balance_of(student.id) == 100 - 10 * outcomes[2:].count(201)
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "student.erase")) == 1
    db.session.expire_all()
    assert db.session.get(Student, student.id).name == f"已删除学员#{student.id}"


def test_retention_erases_the_longest_archived_first_and_a_batch_at_a_time(app, make_student, monkeypatch):
    from school_points.office import erasure

    monkeypatch.setattr(erasure, "RETENTION_BATCH", 1)
    now = utcnow()
    newer, older = archived(make_student, "张三丰", 40, now), archived(make_student, "李四海", 50, now)
    update_settings({"privacy": {"erase_archived_after_days": 30}})
    db.session.commit()

    assert erase_expired_archives(now=now) == 1
    db.session.expire_all()
    assert [db.session.get(Student, sid).status for sid in (older, newer)] == ["erased", "archived"]
    assert erase_expired_archives(now=now) == 1


def test_retention_counts_whole_school_local_days(app, make_student):
    shanghai = ZoneInfo("Asia/Shanghai")
    archived_at = datetime(2026, 3, 1, 23, 30, tzinfo=shanghai)  # 15:30 UTC: still March 1st at school
    sid = archived(make_student, "张三丰", 0, archived_at)
    update_settings({"privacy": {"erase_archived_after_days": 1}})
    db.session.commit()

    assert erase_expired_archives(now=datetime(2026, 3, 2, 23, 59, tzinfo=shanghai)) == 0
    assert erase_expired_archives(now=datetime(2026, 3, 3, 0, 1, tzinfo=shanghai)) == 1
    db.session.expire_all()
    assert db.session.get(Student, sid).status == "erased"
