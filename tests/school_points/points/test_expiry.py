"""Expiry: oldest-expiring points are spent first, due lots expire, reminders go out once."""

from datetime import timedelta

from sqlalchemy import select

from school_points.accounts import ledger
from school_points.accounts.reconcile import find_differences
from school_points.mall import redemption
from school_points.models import Notification, PointsLot
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from school_points.points import expiry
from school_points.school.actors import Actor
from tests.school_points.domain_helpers import account_of, entries


def earn(student, points, key, expires_in_days=None):
    """Earn points; with `expires_in_days` the new lot is moved to expire then."""
    account = ledger.lock(student.id)
    entry = ledger.credit(account, points, "evaluation", key=key)
    db.session.flush()
    if expires_in_days is not None:
        lot = db.session.scalars(select(PointsLot).where(PointsLot.entry_id == entry.id)).one()
        lot.expires_at = utcnow() + timedelta(days=expires_in_days)
    db.session.commit()


def remaining():
    db.session.expire_all()
    return [lot.remaining for lot in db.session.scalars(select(PointsLot).order_by(PointsLot.id))]


def test_spending_takes_the_oldest_expiring_points_first(make_student, make_goods, rules):
    rules({"expiry": {"policy": "rolling", "months": 12}})
    student = make_student()
    earn(student, 20, "late", expires_in_days=300)
    earn(student, 20, "soon", expires_in_days=10)
    redemption.redeem(student.id, make_goods(points=25).id, 1, key="k", actor=Actor.user(1))
    db.session.commit()
    assert remaining() == [15, 0]


def test_due_lots_expire_and_the_rest_stays(make_student, rules):
    student = make_student(balance=7)  # seeded while the policy was `none`: never expires
    rules({"expiry": {"policy": "rolling", "months": 12}})
    earn(student, 10, "due", expires_in_days=-1)
    earn(student, 5, "later", expires_in_days=30)
    assert expiry.expire_due() == (1, 10)
    assert expiry.expire_due() == (0, 0)  # the nightly job ran twice
    assert account_of(student.id) == (12, 22)
    assert [e.delta for e in entries(student.id, "expiry")] == [-10]
    assert remaining() == [0, 5]
    assert find_differences() == []


def test_partly_spent_lots_expire_only_what_is_left(make_student, make_goods, rules):
    rules({"expiry": {"policy": "year_end"}})
    student = make_student()
    earn(student, 30, "a", expires_in_days=5)
    redemption.redeem(student.id, make_goods(points=12).id, 1, key="k", actor=Actor.user(1))
    db.session.commit()
    assert expiry.expire_due(now=utcnow() + timedelta(days=6)) == (1, 18)
    assert account_of(student.id)[0] == 0


def test_reminders_go_out_once_before_points_expire(make_student, make_guardian, rules):
    rules({"expiry": {"policy": "rolling", "months": 12, "remind_days": 7}})
    student = make_student()
    make_guardian(student)
    earn(student, 10, "a", expires_in_days=3)
    earn(student, 4, "b", expires_in_days=30)
    assert expiry.remind_expiring() == 1
    assert expiry.remind_expiring() == 0
    notes = db.session.scalars(select(Notification).where(Notification.kind == "expiring")).all()
    assert [n.values["points"] for n in notes] == [10]
    assert expiry.remind_expiring(now=utcnow() + timedelta(days=25)) == 1  # the second lot's turn


def test_no_policy_means_nothing_expires(make_student):
    student = make_student(balance=50)
    assert expiry.expire_due(now=utcnow() + timedelta(days=3650)) == (0, 0)
    assert account_of(student.id)[0] == 50
