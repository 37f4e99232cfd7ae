"""Behaviour that only one of the two redemption paths could get wrong (docs/PRODUCT.md).

On PostgreSQL `redemption.redeem` is one call of the `redeem_goods` function; on SQLite it is the
Python path. These tests run on both databases, so passing twice means the two paths agree.
"""

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select

from school_points.accounts import ledger
from school_points.accounts.reconcile import find_differences
from school_points.mall import redemption
from school_points.models import (
    AuditLog,
    Goods,
    LedgerEntry,
    LotUse,
    Notification,
    PointsAccount,
    PointsLot,
    Redemption,
)
from school_points.platform.clock import isoformat, utcnow
from school_points.platform.errors import InsufficientPoints, LimitReached, UserDisabled
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from tests.conftest import requires_pg, run_concurrently
from tests.school_points.domain_helpers import account_of, entries, outcome

PARENT = Actor.user(1)


def earn(student_id, points, key, expires_in_days):
    """Points in a lot that expires in `expires_in_days` (the policy must be rolling)."""
    entry = ledger.credit(ledger.lock(student_id), points, "evaluation", key=key)
    db.session.flush()
    lot = db.session.scalars(select(PointsLot).where(PointsLot.entry_id == entry.id)).one()
    lot.expires_at = utcnow() + timedelta(days=expires_in_days)
    db.session.commit()
    return lot.id


def test_lots_are_spent_soonest_expiring_first_then_never_expiring_points(make_student, make_goods, rules):
    student = make_student(balance=10)  # seeded under policy `none`: these 10 never expire
    rules({"expiry": {"policy": "rolling", "months": 12}})
    late, soon = earn(student.id, 5, "late", 300), earn(student.id, 5, "soon", 3)
    middle = earn(student.id, 5, "mid", 30)
    order = redemption.redeem(student.id, make_goods(points=12).id, 1, key="k", actor=PARENT)
    db.session.commit()
    spent = entries(student.id, "redemption")[0]
    uses = {u.lot_id: u.points for u in db.session.scalars(select(LotUse).where(LotUse.entry_id == spent.id))}
    assert uses == {soon: 5, middle: 5, late: 2}
    db.session.expire_all()
    assert {lot.id: lot.remaining for lot in db.session.scalars(select(PointsLot))} == {soon: 0, middle: 0, late: 3}
    redemption.cancel(order, actor=PARENT)
    db.session.commit()
    db.session.expire_all()
    assert {lot.id: lot.remaining for lot in db.session.scalars(select(PointsLot))} == {soon: 5, middle: 5, late: 5}
    assert account_of(student.id)[0] == 25 and find_differences() == []


def test_a_spend_larger_than_the_lots_takes_the_rest_from_points_that_never_expire(make_student, make_goods, rules):
    student = make_student(balance=50)
    rules({"expiry": {"policy": "rolling", "months": 12}})
    lot = earn(student.id, 10, "e", 10)
    redemption.redeem(student.id, make_goods(points=40).id, 1, key="k", actor=PARENT)
    db.session.commit()
    assert [(u.lot_id, u.points) for u in db.session.scalars(select(LotUse))] == [(lot, 10)]
    assert account_of(student.id)[0] == 20 and find_differences() == []


def test_the_returned_order_is_exactly_what_was_stored(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(name="彩笔", points=7, stock=9)
    student_id, goods_id, campus_id = student.id, goods.id, student.campus_id
    order = redemption.redeem(student_id, goods_id, 3, key="k", actor=PARENT)
    db.session.commit()
    seen = {c.key: getattr(order, c.key) for c in Redemption.__table__.columns}
    db.session.expunge_all()
    stored = db.session.get(Redemption, order.id)
    assert seen == {c.key: getattr(stored, c.key) for c in Redemption.__table__.columns}
    assert (stored.total_points, stored.goods_name, stored.campus_id) == (21, "彩笔", campus_id)
    entry = entries(student_id, "redemption")[0]
    assert (entry.delta, entry.balance_after, entry.ref_type, entry.ref_id, entry.note) == (
        -21,
        79,
        "goods",
        str(goods_id),
        "兑换 彩笔 × 3",
    )
    assert (entry.actor_type, entry.actor_id, entry.idempotency_key) == ("user", 1, f"redeem:{order.idempotency_key}")


def test_objects_already_in_the_session_see_the_new_balance_and_stock(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30, stock=5)
    account = db.session.get(PointsAccount, student.id)
    assert (account.balance, goods.stock) == (100, 5)
    redemption.redeem(student.id, goods.id, 1, key="k", actor=PARENT)
    assert (account.balance, goods.stock) == (70, 4)  # read before the commit, in the same transaction


def test_limit_counts_pending_and_issued_orders_but_not_cancelled_ones(make_student, make_goods):
    student, goods = make_student(balance=500), make_goods(points=10, limit_per_student=3)
    issued = redemption.redeem(student.id, goods.id, 1, key="a", actor=PARENT)
    cancelled = redemption.redeem(student.id, goods.id, 2, key="b", actor=PARENT)
    redemption.issue_by_admin(issued, actor=Actor.admin(1))
    redemption.cancel(cancelled, actor=PARENT)
    db.session.commit()
    assert outcome(redemption.redeem, student.id, goods.id, 3, key="c", actor=PARENT) == "limit_reached"
    assert outcome(redemption.redeem, student.id, goods.id, 2, key="d", actor=PARENT) == "ok"  # exactly the limit


def test_limit_reached_and_insufficient_points_say_how_far(make_student, make_goods):
    student = make_student(balance=25)
    limited = make_goods(points=10, limit_per_student=1)
    redemption.redeem(student.id, limited.id, 1, key="a", actor=PARENT)
    db.session.commit()
    with pytest.raises(LimitReached) as limit:
        redemption.redeem(student.id, limited.id, 1, key="b", actor=PARENT)
    db.session.rollback()
    with pytest.raises(InsufficientPoints) as points:
        redemption.redeem(student.id, make_goods(points=20).id, 1, key="c", actor=PARENT)
    db.session.rollback()
    assert (limit.value.code, limit.value.details) == ("limit_reached", {"limit": 1, "redeemed": 1})
    assert (points.value.code, points.value.details) == ("insufficient_points", {"balance": 15, "required": 20})


def test_deleted_goods_and_unknown_ids(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods()
    goods.deleted = True
    db.session.commit()
    assert outcome(redemption.redeem, student.id, goods.id, 1, key="a", actor=PARENT) == "goods_unavailable"
    for goods_id in (10**6, 2**40, True, "1"):
        assert outcome(redemption.redeem, student.id, goods_id, 1, key="b", actor=PARENT) == "not_found"
    for student_id in (10**6, 2**40, None):
        assert outcome(redemption.redeem, student_id, make_goods().id, 1, key="c", actor=PARENT) == "not_found"


def test_an_archived_student_cannot_redeem(make_student, make_goods):
    student = make_student(balance=100)
    student.status = "archived"
    db.session.commit()
    assert outcome(redemption.redeem, student.id, make_goods().id, 1, key="a", actor=PARENT) == "not_found"
    assert account_of(student.id)[0] == 100


def test_a_redemption_by_staff_is_audited_and_a_parents_is_not(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=10)
    by_admin = redemption.redeem(student.id, goods.id, 2, key="a", actor=Actor.admin(5))
    redemption.redeem(student.id, goods.id, 1, key="b", actor=PARENT)
    db.session.commit()
    audit = db.session.scalars(select(AuditLog)).one()
    assert (audit.actor_type, audit.actor_id, audit.action, audit.target_id, audit.campus_id) == (
        "admin",
        5,
        "redemption.create",
        str(by_admin.id),
        student.campus_id,
    )
    assert audit.changes == {"student_id": student.id, "status": "pending", "goods_id": goods.id, "quantity": 2}


def test_one_outbox_row_per_guardian_with_the_orders_values(make_student, make_goods, make_guardian):
    student = make_student(name="王小明", balance=100)
    mum, dad = make_guardian(student, relation="妈妈"), make_guardian(student, relation="爸爸")
    order = redemption.redeem(student.id, make_goods(name="铅笔", points=30).id, 1, key="k", actor=PARENT)
    db.session.commit()
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(n.user_id, n.dedupe_key, n.kind, n.status, n.last_error) for n in rows] == [
        (mum.id, f"redeemed:{order.id}:u{mum.id}", "redeemed", "skipped", "该通知未开启"),
        (dad.id, f"redeemed:{order.id}:u{dad.id}", "redeemed", "skipped", "该通知未开启"),
    ]
    now = rows[0].created_at
    assert rows[0].values == {"student": "王小明", "time": isoformat(now), "goods": "铅笔", "points": 30, "balance": 70}
    assert rows[0].values["time"].endswith("+08:00") and rows[0].template_id == ""


def test_enabled_notifications_are_delivered_only_after_the_commit(app, family, make_goods, rules, monkeypatch):
    rules({"notifications": {"redeemed": {"enabled": True, "template_id": "TPL-R"}}})
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # the job runs in-process, right after the commit
    monkeypatch.delitem(app.extensions, "redis", raising=False)
    mp, student = family(balance=100)
    engine = create_engine(db.engine.url)
    seen = []

    from school_points.wechat import notify

    real_deliver = notify.deliver

    def deliver(notification_id):  # the job (in-process here: no Redis); the row it sees, from elsewhere
        with engine.connect() as conn:
            seen.append(conn.execute(select(Notification.status).where(Notification.id == notification_id)).scalar())
        return real_deliver(notification_id)

    monkeypatch.setattr(notify, "deliver", deliver)
    response = mp.post("/redemptions", json={"student_id": student.id, "goods_id": make_goods().id})
    engine.dispose()
    assert response.status_code == 201
    assert seen == ["pending"]  # committed before the job ran
    db.session.expire_all()
    assert db.session.scalars(select(Notification.status)).all() != ["pending"]  # and the job did its work
    assert db.session.scalars(select(Notification.template_id)).all() == ["TPL-R"]


def test_a_disabled_users_token_cannot_redeem(family, make_goods):
    mp, student = family(balance=100)
    goods = make_goods()
    mp.user.disabled = True
    db.session.commit()
    response = mp.post("/redemptions", json={"student_id": student.id, "goods_id": goods.id})
    assert (response.status_code, response.json["error"]["code"]) == (401, "unauthorized")
    assert account_of(student.id)[0] == 100
    with pytest.raises(UserDisabled):
        redemption.redeem(student.id, goods.id, 1, key="k", actor=PARENT, guardian_id=mp.user_id)


def test_a_parent_cannot_redeem_for_a_student_who_is_not_theirs(family, make_student, make_goods):
    mp, _ = family(balance=100)
    other = make_student(balance=100)
    response = mp.post("/redemptions", json={"student_id": other.id, "goods_id": make_goods().id})
    assert (response.status_code, response.json["error"]["code"]) == (404, "not_found")
    assert account_of(other.id)[0] == 100 and db.session.scalar(select(func.count()).select_from(Redemption)) == 0


def test_the_response_names_the_student_and_shows_the_pickup_code(family, make_goods):
    mp, student = family(balance=100)
    body = mp.post("/redemptions", json={"student_id": student.id, "goods_id": make_goods(points=30).id}).json
    stored = db.session.get(Redemption, body["id"])
    assert (body["student_name"], body["pickup_code"], body["total_points"]) == (student.name, stored.pickup_code, 30)


@requires_pg
def test_one_key_sent_concurrently_spends_once_and_notifies_once(app, make_student, make_goods, make_guardian):
    student, goods = make_student(balance=100), make_goods(points=30, stock=5)
    make_guardian(student)
    student_id, goods_id = student.id, goods.id

    def redeem(_):
        order = redemption.redeem(student_id, goods_id, 1, key="same", actor=PARENT)
        db.session.commit()
        return order.id

    order_ids = run_concurrently(app, redeem, list(range(8)))
    assert len(set(order_ids)) == 1 and all(isinstance(i, int) for i in order_ids)
    assert account_of(student.id)[0] == 70 and len(entries(student.id, "redemption")) == 1
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
    assert db.session.get(Goods, goods.id).stock == 4 and find_differences() == []


@requires_pg
def test_concurrent_redemptions_of_one_student_respect_the_limit(app, make_student, make_goods):
    student, goods = make_student(balance=1000), make_goods(points=10, stock=50, limit_per_student=3)
    student_id, goods_id = student.id, goods.id

    def redeem(i):
        try:
            redemption.redeem(student_id, goods_id, 1, key=f"k{i}", actor=PARENT)
        except Exception as exc:  # noqa: BLE001 - the error code is the outcome
            db.session.rollback()
            return exc.code
        db.session.commit()
        return "pending"

    outcomes = sorted(run_concurrently(app, redeem, list(range(10))))
    assert outcomes == ["limit_reached"] * 7 + ["pending"] * 3
    assert account_of(student.id)[0] == 970 and find_differences() == []
    assert db.session.scalar(select(func.sum(LedgerEntry.delta)).where(LedgerEntry.kind == "redemption")) == -30


def _codes(monkeypatch, codes):
    """Make both paths draw pickup codes from `codes`, in order."""
    drawn = iter(codes)
    for module in ("school_points.mall.redemption", "school_points.mall.redemption_pg"):
        monkeypatch.setattr(f"{module}.new_pickup_code", lambda: next(drawn))


def test_a_pickup_code_already_in_use_is_replaced_by_a_fresh_one(make_student, make_goods, monkeypatch):
    student, goods = make_student(balance=100), make_goods(points=10)
    _codes(monkeypatch, ["AAAABBBBCCCC", "AAAABBBBCCCC", "DDDDEEEEFFFF"])
    first = redemption.redeem(student.id, goods.id, 1, key="a", actor=PARENT)
    second = redemption.redeem(student.id, goods.id, 1, key="b", actor=PARENT)
    db.session.commit()
    assert (first.pickup_code, second.pickup_code) == ("AAAABBBBCCCC", "DDDDEEEEFFFF")
    assert account_of(student.id)[0] == 80 and len(entries(student.id, "redemption")) == 2


def test_five_pickup_codes_in_use_in_a_row_is_an_error_that_changes_nothing(make_student, make_goods, monkeypatch):
    student, goods = make_student(balance=100), make_goods(points=10)
    _codes(monkeypatch, ["AAAABBBBCCCC"] * 6)
    redemption.redeem(student.id, goods.id, 1, key="a", actor=PARENT)
    db.session.commit()
    with pytest.raises(RuntimeError, match="no free pickup code"):
        redemption.redeem(student.id, goods.id, 1, key="b", actor=PARENT)
    db.session.rollback()
    assert account_of(student.id)[0] == 90 and db.session.get(Goods, goods.id).stock == 9


@requires_pg
def test_a_standalone_redemption_is_committed_by_the_call_itself(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30, stock=5)
    student_id, goods_id = student.id, goods.id
    db.session.commit()
    order_id = redemption.redeem(student_id, goods_id, 1, key="k", actor=PARENT, standalone=True).id
    db.session.rollback()  # nothing left to undo: the server committed as the call returned
    assert db.session.get(Redemption, order_id).status == "pending" and account_of(student_id)[0] == 70


@requires_pg
def test_standalone_inside_an_open_transaction_stays_part_of_it(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30, stock=5)
    student_id, goods_id = student.id, goods.id
    db.session.commit()
    db.session.execute(select(func.now()))  # the caller has a transaction open already
    redemption.redeem(student_id, goods_id, 1, key="k", actor=PARENT, standalone=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert account_of(student_id)[0] == 100 and db.session.get(Goods, goods_id).stock == 5


@requires_pg
@pytest.mark.parametrize("standalone", [True, False], ids=["own transaction", "caller's transaction"])
def test_goods_sold_out_while_the_call_waits_on_them_changes_nothing(app, make_student, make_goods, standalone):
    """The function read stock 1, then finds 0 at its guarded UPDATE: SP409, everything undone."""
    import threading
    import time

    from sqlalchemy import text

    from school_points.platform.errors import OutOfStock

    student, goods = make_student(balance=100), make_goods(points=30, stock=1)
    student_id, goods_id = student.id, goods.id
    db.session.commit()
    blocker = db.engine.connect()  # staff take the last unit off the shelf; not committed yet
    blocker.execute(text("UPDATE goods SET stock = 0, stock_received = 0 WHERE id = :id"), {"id": goods_id})
    outcome = []

    def redeem():
        with app.app_context():
            try:
                if not standalone:  # the caller's own write, which must be undone with the order
                    db.session.add(
                        AuditLog(
                            actor_type="admin",
                            actor_id=1,
                            action="test.write",
                            target_type="goods",
                            target_id=str(goods_id),
                            changes={},
                            created_at=utcnow(),
                        )
                    )
                    db.session.flush()
                redemption.redeem(student_id, goods_id, 1, key="k", actor=PARENT, standalone=standalone)
                db.session.commit()
                outcome.append("ordered")
            except OutOfStock:
                outcome.append("out_of_stock")
            finally:
                db.session.remove()

    thread = threading.Thread(target=redeem)
    thread.start()
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + 20
    while (queued := db.session.scalar(waiting)) == 0 and time.monotonic() < deadline:
        db.session.rollback()
        time.sleep(0.02)
    db.session.rollback()
    assert queued == 1  # the call got past its stock check and waits at the guarded UPDATE
    blocker.commit()
    blocker.close()
    thread.join(30)
    assert outcome == ["out_of_stock"]
    db.session.expire_all()
    assert account_of(student_id)[0] == 100 and entries(student_id, "redemption") == []
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 0
    assert find_differences() == []
