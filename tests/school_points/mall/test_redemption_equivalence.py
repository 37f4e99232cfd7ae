"""The redemption rules, run through both implementations (docs/REDEMPTION_RULES.md).

`redemption.redeem` has two bodies: the Python steps in `school_points/mall/redemption.py` (SQLite) and
the `redeem_goods` PL/pgSQL function behind `school_points/mall/redemption_pg.py` (PostgreSQL). CASES
below is the one table of what the rules do. Every case runs
- through the Python path, checked against the table, on both databases (on PostgreSQL the Python
  path is forced: `python_path`);
- through the function, checked against the same table (PostgreSQL);
- through both on identical fresh data, every row they leave compared (PostgreSQL): same outcome
  code, message and details, same balances, stock, ledger, lots, orders, notifications, audit.
A rule changed in one implementation and not the other fails here. Time stamps are compared as
present or absent (the two runs happen at different instants); everything else, ids included, as is.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import count
from types import SimpleNamespace

import pytest
from flask import g
from sqlalchemy import select, text

from school_points.accounts import ledger
from school_points.accounts.reconcile import find_differences
from school_points.mall import redemption, redemption_pg
from school_points.models import (
    AuditLog,
    Campus,
    Goods,
    Guardian,
    LedgerEntry,
    LotUse,
    Notification,
    PointsAccount,
    PointsLot,
    Redemption,
    Student,
    WechatUser,
)
from school_points.platform import uow
from school_points.platform.clock import utcnow
from school_points.platform.codes import key_digest
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM, Actor
from school_points.school.settings import update_settings

KEY = "k"
# The tables a redemption reads or writes; their rows are what the two paths must agree on.
COMPARED = (
    Student,
    WechatUser,
    Guardian,
    PointsAccount,
    Goods,
    LedgerEntry,
    PointsLot,
    LotUse,
    Redemption,
    Notification,
    AuditLog,
)


@dataclass(frozen=True)
class Case:
    """One row of the table: the data before, the call, and what must come of it."""

    id: str
    expect: str  # "ok", or the error code the call must raise (having changed nothing)
    # the data
    balance: int = 100  # points that never expire (a manual adjustment)
    lots: tuple = ()  # earned under a rolling expiry policy, in this order: (points, days until they expire)
    points: int = 30  # the goods' price
    stock: int = 10
    limit: int | None = None
    goods_campus: str = "all"  # all | own | other
    prior: tuple = ()  # the student's earlier orders of these goods: (quantity, final status)
    on_shelf: bool = True
    deleted: bool = False
    student_status: str = "active"
    mall_open: bool = True
    notify: bool = False  # the `redeemed` notification switched on
    guardians: int = 1
    levels: bool = False  # member levels switched on (LEVEL_TIERS); the student's lifetime = balance + lots
    min_level: int | None = None  # the goods' min_level
    # the call
    caller: str = "none"  # the guardian_id passed: none | guardian | disabled (a disabled guardian) | stranger
    actor: str = "user"  # user | teacher | admin
    address: str | None = None  # the client address the HTTP adapter put in g for this request
    student: str = "self"  # self | missing | true (the boolean True, which is not an id)
    goods: str = "self"  # self | missing
    quantity: object = 1
    repeat: dict | None = None  # the same key sent again after these changes to the data
    # what must come of it
    message: str | None = None
    details: dict | None = None
    balance_after: int | None = None
    stock_after: int | None = None
    lots_after: tuple = ()  # each lot's remaining points, in the order of `lots`
    extra: dict = field(default_factory=dict)


OK = dict(expect="ok")
# After one earlier order of the goods: the limit (1) reached, 29 points left (30 needed), stock 0.
EVERYTHING_ELSE_FAILS = dict(limit=1, prior=((1, "pending"),), balance=59, stock=1)
LEVEL_TIERS = [
    {"level": 1, "name": "新芽", "min_lifetime": 0},
    {"level": 2, "name": "小树", "min_lifetime": 100},
    {"level": 3, "name": "大树", "min_lifetime": 300},
]
LEVELS_ON = dict(levels=True)
CASES = [
    # ---- success and its effects
    Case("one unit", **OK, balance_after=70, stock_after=9),
    Case("three units, priced per unit", **OK, quantity=3, balance_after=10, stock_after=7),
    Case("exactly enough points", **OK, balance=30, balance_after=0, stock_after=9),
    Case("exactly the last units", **OK, stock=2, quantity=2, balance_after=40, stock_after=0),
    Case("goods of the student's own campus", **OK, goods_campus="own", balance_after=70, stock_after=9),
    Case(
        "lots spent soonest expiring first, then points that never expire",
        **OK,
        balance=10,
        lots=((5, 300), (5, 3), (5, 30)),
        points=17,
        balance_after=8,
        stock_after=9,
        lots_after=(0, 0, 0),
    ),
    Case(
        "lots partly spent, later expiry untouched",
        **OK,
        balance=0,
        lots=((10, 200), (10, 20), (10, 100)),
        points=15,
        balance_after=15,
        stock_after=9,
        lots_after=(10, 0, 5),
    ),
    Case(
        "a lot expiring on the same day as another: older lot first",
        **OK,
        balance=0,
        lots=((10, 50), (10, 50)),
        points=12,
        balance_after=8,
        stock_after=9,
        lots_after=(0, 8),
    ),
    Case(
        "notifications switched on: one pending row per guardian",
        **OK,
        notify=True,
        guardians=2,
        balance_after=70,
        stock_after=9,
    ),
    Case("notifications off: rows recorded as skipped", **OK, guardians=2, balance_after=70, stock_after=9),
    Case("a student without guardians notifies nobody", **OK, guardians=0, balance_after=70, stock_after=9),
    Case("the guardian redeeming", **OK, caller="guardian", balance_after=70, stock_after=9),
    Case("a teacher's redemption is audited", **OK, actor="teacher", balance_after=70, stock_after=9),
    Case(
        "a staff redemption in a request records the caller's address",
        **OK,
        actor="teacher",
        address="203.0.113.9",
        balance_after=70,
        stock_after=9,
    ),
    Case("an admin's redemption is audited", **OK, actor="admin", quantity=2, balance_after=40, stock_after=8),
    Case(
        "limit counts only non-cancelled orders",
        **OK,
        limit=3,
        balance=500,
        prior=((2, "cancelled"), (1, "pending"), (1, "issued")),
        balance_after=410,
        stock_after=7,
    ),
    Case(
        "quantity up to exactly the limit",
        **OK,
        limit=3,
        balance=500,
        prior=((1, "pending"),),
        quantity=2,
        balance_after=410,
        stock_after=7,
    ),
    # ---- idempotent replay: the first order comes back, nothing is charged twice
    Case("same key again", **OK, repeat={}, balance_after=70, stock_after=9),
    Case("same key again after the mall closed", **OK, repeat={"mall_open": False}, balance_after=70, stock_after=9),
    Case(
        "same key again after the student was archived",
        **OK,
        repeat={"student_status": "archived"},
        balance_after=70,
        stock_after=9,
    ),
    Case(
        "same key again after the goods sold out",
        **OK,
        repeat={"sold_out": True},
        balance_after=70,
        stock_after=0,
        extra={"stock_received": 1},
    ),
    Case("same key again with another quantity", **OK, repeat={"quantity": 3}, balance_after=70, stock_after=9),
    # ---- each refusal alone
    Case("mall closed", "mall_closed", mall_open=False),
    Case("goods off the shelf", "goods_unavailable", on_shelf=False),
    Case("goods deleted", "goods_unavailable", deleted=True),
    Case("goods of another campus", "goods_unavailable", goods_campus="other"),
    Case("goods missing", "not_found", goods="missing", message="商品不存在"),
    Case("student missing", "not_found", student="missing", message="学员不存在"),
    Case("True is not a student id", "not_found", student="true", message="学员不存在"),
    Case("student archived", "not_found", student_status="archived", message="学员不存在"),
    Case(
        "limit reached",
        "limit_reached",
        limit=2,
        prior=((2, "pending"),),
        balance=500,
        details={"limit": 2, "redeemed": 2},
    ),
    Case(
        "issued orders count towards the limit",
        "limit_reached",
        limit=2,
        balance=500,
        prior=((2, "cancelled"), (1, "issued"), (1, "pending")),
        details={"limit": 2, "redeemed": 2},
    ),
    Case(
        "quantity > 1 crossing the limit",
        "limit_reached",
        limit=3,
        prior=((2, "pending"),),
        quantity=2,
        balance=500,
        details={"limit": 3, "redeemed": 2},
    ),
    Case("quantity alone over the limit", "limit_reached", limit=2, quantity=3, details={"limit": 2, "redeemed": 0}),
    Case("out of stock", "out_of_stock", stock=0),
    Case("quantity over the stock", "out_of_stock", stock=2, quantity=3),
    Case("one point short", "insufficient_points", balance=29, details={"balance": 29, "required": 30}),
    Case(
        "one point short with lots",
        "insufficient_points",
        balance=4,
        lots=((10, 5), (15, 50)),
        quantity=1,
        details={"balance": 29, "required": 30},
    ),
    Case("short for the quantity", "insufficient_points", quantity=4, details={"balance": 100, "required": 120}),
    Case("quantity 0", "validation_error", quantity=0),
    Case("quantity 100", "validation_error", quantity=100),
    Case("quantity -1", "validation_error", quantity=-1),
    Case("quantity True", "validation_error", quantity=True),
    Case("quantity as text", "validation_error", quantity="2"),
    Case("quantity 1.0", "validation_error", quantity=1.0),
    Case("a disabled guardian", "unauthorized", caller="disabled"),
    Case("a user who is not the student's guardian", "not_found", caller="stranger", message="学员不存在"),
    # ---- several rules failing at once: the first in the documented order wins
    Case(
        "quantity before everything",
        "validation_error",
        quantity=0,
        caller="disabled",
        mall_open=False,
        student_status="archived",
        stock=0,
        balance=0,
    ),
    Case(
        "disabled guardian before the student",
        "unauthorized",
        caller="disabled",
        student_status="archived",
        mall_open=False,
    ),
    Case("not a guardian before the mall", "not_found", caller="stranger", mall_open=False, message="学员不存在"),
    Case(
        "archived student before the mall",
        "not_found",
        student_status="archived",
        mall_open=False,
        message="学员不存在",
    ),
    Case("mall before missing goods", "mall_closed", mall_open=False, goods="missing"),
    Case(
        "mall before goods off the shelf, limit, points and stock",
        "mall_closed",
        mall_open=False,
        on_shelf=False,
        **EVERYTHING_ELSE_FAILS,
    ),
    Case("deleted goods before another campus", "goods_unavailable", deleted=True, goods_campus="other"),
    Case(
        "unavailable goods before limit, points and stock", "goods_unavailable", on_shelf=False, **EVERYTHING_ELSE_FAILS
    ),
    Case(
        "limit before points and stock", "limit_reached", **EVERYTHING_ELSE_FAILS, details={"limit": 1, "redeemed": 1}
    ),
    Case("points before stock", "insufficient_points", balance=29, stock=0, details={"balance": 29, "required": 30}),
    # ---- member levels (goods' min_level)
    Case("goods for a level the student has", **OK, **LEVELS_ON, min_level=2, balance_after=70, stock_after=9),
    Case(
        "level from lifetime points, not the balance left",
        **OK,
        **LEVELS_ON,
        min_level=2,
        prior=((1, "issued"),),
        balance_after=40,
        stock_after=8,
    ),
    Case(
        "level too low",
        "level_too_low",
        **LEVELS_ON,
        min_level=3,
        message="会员等级不足，暂不能兑换该商品",
        details={"required_level": 3, "student_level": 2},
    ),
    Case("levels switched off: min_level not enforced", **OK, min_level=3, balance_after=70, stock_after=9),
    Case(
        "same key again after the goods were raised to a higher level",
        **OK,
        **LEVELS_ON,
        min_level=2,
        repeat={"min_level": 3},
        balance_after=70,
        stock_after=9,
    ),
    Case("unavailable goods before the level", "goods_unavailable", **LEVELS_ON, min_level=3, on_shelf=False),
    Case(
        "level before limit, points and stock",
        "level_too_low",
        **LEVELS_ON,
        min_level=3,
        **EVERYTHING_ELSE_FAILS,
        details={"required_level": 3, "student_level": 1},
    ),
]


# ---------------------------------------------------------------- running a case


class _SessionSeenAsNotPostgres:
    """`db.session` as the redemption module sees it under `python_path`: the real session, whose
    bind claims a dialect that is not PostgreSQL, so `redeem` takes its Python steps."""

    def get_bind(self, *args, **kwargs):
        return SimpleNamespace(dialect=SimpleNamespace(name="python-path"))

    def __getattr__(self, name):
        return getattr(db.session, name)


def _function_must_not_run(*args, **kwargs):
    raise AssertionError("the Python path called redeem_goods")


@contextmanager
def python_path():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redemption, "db", SimpleNamespace(session=_SessionSeenAsNotPostgres()))
        patch.setattr(redemption_pg, "redeem", _function_must_not_run)
        yield


@contextmanager
def function_path():
    assert db.engine.dialect.name == "postgresql"
    yield


@pytest.fixture
def pinned_pickup_codes(app, monkeypatch):
    """Both paths draw the same pickup codes, PICKUP000001, PICKUP000002, ... from each `restart`."""
    state = {}

    def restart():
        state["numbers"] = count(1)

    restart()
    for module in (redemption, redemption_pg):
        monkeypatch.setattr(module, "new_pickup_code", lambda: f"PICKUP{next(state['numbers']):06d}")
    return restart


def fresh_database():
    """Every table empty and every id counting from 1 again, so two runs build identical rows."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        for table in tables:  # DELETE: far cheaper than TRUNCATE for tables this small
            conn.execute(text(f'DELETE FROM "{table}"'))
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                    "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
                )
            )
        elif conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
            conn.execute(text("DELETE FROM sqlite_sequence"))


def build(case):
    """The case's data, committed; the ids the call needs."""
    own, other = Campus(name="总校区"), Campus(name="分校区")
    db.session.add_all([own, other])
    db.session.flush()
    student = Student(name="王小明", campus_id=own.id, bind_code="BIND0001")
    db.session.add(student)
    db.session.flush()
    account = ledger.lock(student.id)
    if case.balance:
        ledger.credit(account, case.balance, "adjustment", key="seed", actor=SYSTEM, note="测试初始积分")
    if case.lots:
        update_settings({"expiry": {"policy": "rolling", "months": 12}})
        base = utcnow()  # one instant: lots given the same day expire at the same instant
        for i, (points, days) in enumerate(case.lots):
            entry = ledger.credit(account, points, "evaluation", key=f"lot{i}")
            db.session.flush()
            lot = db.session.scalars(select(PointsLot).where(PointsLot.entry_id == entry.id)).one()
            lot.expires_at = base + timedelta(days=days)
    guardians = []
    for i in range(case.guardians):
        user = WechatUser(mp_openid=f"mp-{i}", referral_code=f"REF{i:05d}")
        db.session.add(user)
        db.session.flush()
        db.session.add(Guardian(user_id=user.id, student_id=student.id, relation="妈妈"))
        guardians.append(user)
    stranger = WechatUser(mp_openid="mp-stranger", referral_code="REFSTRAN")
    db.session.add(stranger)
    campus_id = {"all": None, "own": own.id, "other": other.id}[case.goods_campus]
    goods = Goods(
        name="彩笔",
        points=case.points,
        stock=case.stock,
        stock_received=case.stock,
        limit_per_student=case.limit,
        campus_id=campus_id,
        verify_code="8888",
        image_url="https://img.example.com/p.png",
    )
    db.session.add(goods)
    if case.levels:
        update_settings({"levels": {"enabled": True, "tiers": LEVEL_TIERS}})
    if case.notify:
        update_settings({"notifications": {"redeemed": {"enabled": True, "template_id": "TPL-R"}}})
    db.session.commit()
    for i, (quantity, status) in enumerate(case.prior):  # earlier orders, by the database's own path
        order = redemption.redeem(student.id, goods.id, quantity, key=f"prior{i}", actor=Actor.user(1))
        if status == "issued":
            redemption.issue_by_admin(order, actor=Actor.admin(1))
        elif status == "cancelled":
            redemption.cancel(order, actor=Actor.user(1))
        db.session.commit()
    if case.caller == "disabled":
        guardians[0].disabled = True
    student.status, goods.on_shelf, goods.deleted = case.student_status, case.on_shelf, case.deleted
    goods.min_level = case.min_level  # after the earlier orders, which the level may have refused
    if not case.mall_open:
        update_settings({"mall": {"open": False}})
    db.session.commit()
    if case.student == "true":
        assert student.id == 1  # so the boolean True would name this very student if taken as an id
    caller = {
        "none": None,
        "guardian": guardians[0].id if guardians else None,
        "disabled": guardians[0].id if guardians else None,
        "stranger": stranger.id,
    }[case.caller]
    ids = SimpleNamespace(
        student=student.id,
        goods=goods.id,
        campus=own.id,
        caller=caller,
        guardians=[u.id for u in guardians],
        prior_orders=len(case.prior),
    )
    return ids


def change(values, ids):
    """What happens between a call and its repeat with the same key; committed."""
    student, goods = db.session.get(Student, ids.student), db.session.get(Goods, ids.goods)
    if "student_status" in values:
        student.status = values["student_status"]
    if values.get("sold_out"):  # staff take the rest off sale (received - stock: what orders hold)
        goods.stock_received, goods.stock = goods.stock_received - goods.stock, 0
    if values.get("mall_open") is False:
        update_settings({"mall": {"open": False}})
    if "min_level" in values:
        goods.min_level = values["min_level"]
    db.session.commit()


def actor_of(case, ids):
    return {"user": Actor.user(ids.caller or 1), "teacher": Actor.teacher(7), "admin": Actor.admin(5)}[case.actor]


def call(case, ids, quantity=None):
    student_id = {"self": ids.student, "missing": 10**6, "true": True}[case.student]
    goods_id = {"self": ids.goods, "missing": 10**6}[case.goods]
    return redemption.redeem(
        student_id,
        goods_id,
        case.quantity if quantity is None else quantity,
        key=KEY,
        actor=actor_of(case, ids),
        guardian_id=ids.caller,
    )


def run(case, path):
    """Fresh data, the call through `path`; the outcome, the rows before and after."""
    fresh_database()
    ids = build(case)
    before = snapshot()
    if case.address is not None:
        g.client_address = case.address
    with path():
        try:
            order = call(case, ids)
            uow.discard_pending(db.session)  # compare the rows the call wrote, not what delivery made of them
            db.session.commit()
            if case.repeat is not None:
                change(case.repeat, ids)
                again = call(case, ids, quantity=case.repeat.get("quantity"))
                uow.discard_pending(db.session)
                db.session.commit()
                assert again.id == order.id
            result = ("ok", None, None)
        except DomainError as exc:
            db.session.rollback()
            result = (exc.code, exc.message, exc.details)
        finally:
            g.pop("client_address", None)
    return SimpleNamespace(result=result, before=before, after=snapshot(), ids=ids)


def snapshot():
    """Every row of the compared tables, by table, in id order; time stamps as present/absent."""
    db.session.expire_all()
    rows = {}
    for model in COMPARED:
        table = model.__table__
        order = list(table.primary_key.columns)
        rows[table.name] = [
            {name: _comparable(name, value) for name, value in row.items()}
            for row in db.session.execute(select(table).order_by(*order)).mappings()
        ]
    db.session.rollback()
    return rows


def _comparable(name, value):
    if isinstance(value, datetime):
        return "<time>"
    if isinstance(value, date):
        return "<day>"
    if name == "values" and isinstance(value, dict) and "time" in value:
        return {**value, "time": "<time>"}
    return value


# ---------------------------------------------------------------- the table, checked


def check_against_table(case, seen, path):
    code, message, details = seen.result
    assert code == case.expect, f"{path}: {seen.result}"
    if case.message is not None:
        assert message == case.message
    if case.details is not None:
        assert details == case.details
    if code != "ok":
        assert seen.after == seen.before  # a refusal changes nothing
        assert find_differences() == []
        return
    check_effects(case, seen)


def check_effects(case, seen):
    """One order, charged once, with every effect the rules name."""
    ids, after = seen.ids, seen.after
    quantity, total = case.quantity, case.points * case.quantity
    orders = after["redemption"][ids.prior_orders :]
    assert len(orders) == 1
    order = orders[0]
    order_key = f"s{ids.student}:{key_digest(KEY)}"
    actor = actor_of(case, ids)
    assert {
        k: order[k]
        for k in (
            "student_id",
            "goods_id",
            "campus_id",
            "quantity",
            "points_each",
            "total_points",
            "goods_name",
            "goods_image_url",
            "status",
            "idempotency_key",
            "created_by_type",
            "created_by_id",
            "cancel_reason",
            "issued_at",
            "cancelled_at",
        )
    } == dict(
        student_id=ids.student,
        goods_id=ids.goods,
        campus_id=ids.campus,
        quantity=quantity,
        points_each=case.points,
        total_points=total,
        goods_name="彩笔",
        goods_image_url="https://img.example.com/p.png",
        status="pending",
        idempotency_key=order_key,
        created_by_type=actor.type,
        created_by_id=actor.id,
        cancel_reason="",
        issued_at=None,
        cancelled_at=None,
    )
    assert order["pickup_code"] == f"PICKUP{ids.prior_orders + 1:06d}" and order["created_at"] == "<time>"

    spent = [e for e in after["ledger_entry"] if e["idempotency_key"] == f"redeem:{order_key}"]
    assert len(spent) == 1 and len([e for e in after["ledger_entry"] if e["kind"] == "redemption"]) == (
        1 + ids.prior_orders
    )
    entry = spent[0]
    assert {
        k: entry[k]
        for k in (
            "student_id",
            "delta",
            "balance_after",
            "kind",
            "ref_type",
            "ref_id",
            "note",
            "actor_type",
            "actor_id",
            "local_day",
        )
    } == dict(
        student_id=ids.student,
        delta=-total,
        balance_after=case.balance_after,
        kind="redemption",
        ref_type="goods",
        ref_id=str(ids.goods),
        note=f"兑换 彩笔 × {quantity}",
        actor_type=actor.type,
        actor_id=actor.id,
        local_day="<day>",
    )
    account = after["points_account"][0]
    assert account["balance"] == case.balance_after
    assert account["lifetime"] == seen.before["points_account"][0]["lifetime"]  # spending is not earning
    assert after["goods"][0]["stock"] == case.stock_after
    assert after["goods"][0]["stock_received"] == case.extra.get("stock_received", case.stock)

    lots = after["points_lot"]
    assert tuple(lot["remaining"] for lot in lots) == case.lots_after
    took = {use["lot_id"]: use["points"] for use in after["lot_use"] if use["entry_id"] == entry["id"]}
    assert took == {
        before["id"]: before["remaining"] - lot["remaining"]
        for before, lot in zip(seen.before["points_lot"], lots, strict=True)
        if before["remaining"] != lot["remaining"]
    }

    notes = [n for n in after["notification"] if n["dedupe_key"].startswith(f"redeemed:{order['id']}:")]
    assert [
        (n["user_id"], n["dedupe_key"], n["kind"], n["student_id"], n["status"], n["last_error"], n["template_id"])
        for n in notes
    ] == [
        (
            uid,
            f"redeemed:{order['id']}:u{uid}",
            "redeemed",
            ids.student,
            "pending" if case.notify else "skipped",
            "" if case.notify else "该通知未开启",
            "TPL-R" if case.notify else "",
        )
        for uid in ids.guardians
    ]
    for note in notes:
        assert note["values"] == {
            "student": "王小明",
            "time": "<time>",
            "goods": "彩笔",
            "points": total,
            "balance": case.balance_after,
        }

    audits = [a for a in after["audit_log"] if a["action"] == "redemption.create"]
    if actor.type in ("teacher", "admin"):
        assert [
            (
                a["actor_type"],
                a["actor_id"],
                a["target_type"],
                a["target_id"],
                a["campus_id"],
                a["changes"],
                a["client_address"],
            )
            for a in audits
        ] == [
            (
                actor.type,
                actor.id,
                "redemption",
                str(order["id"]),
                ids.campus,
                {"student_id": ids.student, "status": "pending", "goods_id": ids.goods, "quantity": quantity},
                case.address,
            )
        ]
    else:
        assert audits == []  # a parent's own order is its record
    assert find_differences() == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_both_paths_follow_the_table_and_leave_the_same_rows(app, is_pg, pinned_pickup_codes, case):
    """The Python path against the table (both databases); on PostgreSQL the function too, on
    identical fresh data, and every row the two leave compared."""
    by_python = run(case, python_path)
    check_against_table(case, by_python, "Python path")
    if not is_pg:
        return  # SQLite has no stored functions: the Python path is the only one
    pinned_pickup_codes()
    by_function = run(case, function_path)
    check_against_table(case, by_function, "redeem_goods")
    assert by_function.result == by_python.result
    assert by_function.before == by_python.before  # identical data to start from
    assert by_function.after == by_python.after
