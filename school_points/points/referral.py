"""Referrals (老带新, docs/WECHAT.md): recorded once per new person, rewarded when they enrol a new student."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from school_points.accounts import ledger
from school_points.models import Guardian, Referral, Teacher, WechatUser
from school_points.people import guardians
from school_points.platform.clock import as_aware, utcnow
from school_points.platform.extensions import db
from school_points.points.level_rewards import note_level_up
from school_points.school.actors import SYSTEM
from school_points.school.settings import get_settings
from school_points.wechat.notifications import notify_student


def record_referral(referred_user, referral_code, *, known_before) -> Referral | None:
    """Remember who referred a newcomer; no-op for unknown codes, self-referrals or known people."""
    if known_before or not isinstance(referral_code, str) or not referral_code.strip():
        return None
    referrer = db.session.scalars(
        select(WechatUser).where(WechatUser.referral_code == referral_code.strip().upper())
    ).first()
    if referrer is None or referrer.id == referred_user.id or _already_known(referred_user):
        return None
    existing = _referral_of(referred_user.id)
    if existing is not None:
        return existing
    referral = Referral(referrer_user_id=referrer.id, referred_user_id=referred_user.id, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(referral)
    except IntegrityError:  # a concurrent login recorded it first: one referral per person
        return _referral_of(referred_user.id)
    return referral


def bind_and_reward(user, bind_code, relation="家长") -> Guardian:
    """Bind a user to the student holding `bind_code` (people.guardians.bind_student) and reward
    the user's pending referral if that binding qualifies, in the caller's transaction.

    The one entry point for a family binding a child: binding alone would never pay a referral.
    """
    guardian = guardians.bind_student(user, bind_code, relation)
    reward_on_bind(user, guardian.student)
    return guardian


def reward_on_bind(user, student) -> Referral | None:
    """Reward the user's pending referral if `student` enrolled after it; exactly once."""
    referral = db.session.scalars(
        select(Referral)
        .where(Referral.referred_user_id == user.id, Referral.status == "pending")
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if referral is None or as_aware(student.created_at) <= as_aware(referral.created_at):
        return None
    referrer_student = guardians.default_student(referral.referrer)
    if referrer_student is None or referrer_student.id == student.id:
        return None  # stays pending: rewarded when a qualifying binding happens
    if guardians.is_guardian(referral.referrer_user_id, student.id):
        return None  # the referrer's own family member is not a new enrolment
    _pay(referral, referrer_student.id, student.id)
    referral.status, referral.rewarded_at = "rewarded", utcnow()
    referral.student_id, referral.referrer_student_id = student.id, referrer_student.id
    db.session.flush()
    return referral


def referral_summary(user) -> dict[str, Any]:
    """The user's referral code with how many people they referred and how many were rewarded."""
    counts = dict(
        db.session.execute(
            select(Referral.status, func.count()).where(Referral.referrer_user_id == user.id).group_by(Referral.status)
        ).all()
    )
    return {
        "code": user.referral_code,
        "referred": sum(counts.values()),
        "rewarded": counts.get("rewarded", 0),
    }


def _pay(referral, referrer_student_id, new_student_id):
    rules = get_settings()["referral"]
    accounts = ledger.lock_many([referrer_student_id, new_student_id])
    awards = [
        (referrer_student_id, int(rules["referrer_points"]), "referral", "推荐新学员奖励"),
        (new_student_id, int(rules["welcome_points"]), "welcome", "新学员欢迎积分"),
    ]
    for student_id, points, kind, note in awards:
        if points <= 0:
            continue
        key = f"{kind}:referral:{referral.id}"
        lifetime_before = accounts[student_id].lifetime
        ledger.credit(
            accounts[student_id],
            points,
            kind,
            key=key,
            ref=ledger.Ref("referral", referral.id),
            actor=SYSTEM,
            note=note,
        )
        note_level_up(accounts[student_id], lifetime_before)
        notify_student(
            "points_awarded",
            student_id,
            {"points": points, "balance": accounts[student_id].balance, "remark": note},
            key=key,
        )


def _already_known(user):
    """A person who is already a guardian or a teacher was known to the school before."""
    if db.session.scalars(select(Guardian.id).where(Guardian.user_id == user.id)).first() is not None:
        return True
    return db.session.scalars(select(Teacher.id).where(Teacher.user_id == user.id)).first() is not None


def _referral_of(user_id):
    return db.session.scalars(select(Referral).where(Referral.referred_user_id == user_id)).first()
