"""WeChat users: find-or-create at mini-program login, and joining two records of one person.

A person can reach us first through the official account (oa_openid, maybe unionid) and later
through the mini-program (mp_openid, maybe unionid), or the other way round. When a unionid or an
explicit link step shows two rows are one person, `merge_users` folds one into the other.
"""

import logging

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from school_points.models import Guardian, Like, Referral, Teacher, WechatUser
from school_points.platform.codes import new_code
from school_points.platform.extensions import db

log = logging.getLogger(__name__)


def login_or_create(session_info) -> tuple[WechatUser, bool]:
    """The user a code2session result names: (user, known_before).

    `session_info` is {openid, unionid?, session_key}; the session_key is never stored. A user found
    by mini-program openid or unionid is the same person (rows are joined when both exist);
    otherwise a new user is created. `known_before` says the person existed before this login.
    """
    openid = session_info["openid"]
    unionid = session_info.get("unionid") or None
    for _ in range(3):
        user, known_before = _find_or_create(openid, unionid)
        if user is not None:
            return user, known_before
    raise RuntimeError("could not settle the WeChat user after concurrent logins")


def _find_or_create(openid, unionid):
    by_openid = _one(WechatUser.mp_openid == openid)
    by_unionid = _one(WechatUser.unionid == unionid) if unionid else None
    if by_openid is not None and by_unionid is not None and by_openid.id != by_unionid.id:
        return merge_users(keep=by_openid, other=by_unionid), True
    user = by_openid or by_unionid
    if user is not None:
        if user.mp_openid is None:
            user.mp_openid = openid
        if unionid and user.unionid is None:
            user.unionid = unionid
        db.session.flush()
        return user, True
    user = WechatUser(mp_openid=openid, unionid=unionid, referral_code=_free_referral_code())
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        # A concurrent first login of the same person won the insert: look again.
        return None, False
    return user, False


def _one(condition):
    return db.session.scalars(select(WechatUser).where(condition)).first()


def _free_referral_code():
    for _ in range(10):
        code = new_code(8)
        if _one(WechatUser.referral_code == code) is None:
            return code
    raise RuntimeError("no free referral code after 10 tries")


def active_user(user_id) -> WechatUser | None:
    """The enabled user a token names, or None (unknown, merged away or disabled)."""
    user = db.session.get(WechatUser, user_id) if user_id is not None else None
    return None if user is None or user.disabled else user


def merge_users(*, keep, other) -> WechatUser:
    """Fold `other` into `keep` (one person with two rows); returns `keep`.

    Every row that points at `other` moves to `keep`; where `keep` already has the same thing
    (a guardianship, a like, a referral, a teacher role) the duplicate of `other` is dropped.
    """
    if keep.id == other.id:
        return keep
    _drop_duplicates(keep, other)
    _move_references(keep, other)
    identity = {
        "mp_openid": other.mp_openid,
        "oa_openid": other.oa_openid,
        "unionid": other.unionid,
    }
    flags = {"default_student_id": other.default_student_id, "oa_subscribed": other.oa_subscribed}
    nickname = other.nickname
    db.session.delete(other)
    db.session.flush()
    for column, value in identity.items():
        if getattr(keep, column) is None and value is not None:
            setattr(keep, column, value)
    if keep.default_student_id is None:
        keep.default_student_id = flags["default_student_id"]
    keep.oa_subscribed = keep.oa_subscribed or flags["oa_subscribed"]
    keep.nickname = keep.nickname or nickname
    db.session.flush()
    log.info("merged WeChat user %s into %s", other.id, keep.id)
    return keep


def _drop_duplicates(keep, other):
    """Remove `other`'s rows that would collide with `keep`'s on a unique constraint."""
    kept_students = select(Guardian.student_id).where(Guardian.user_id == keep.id)
    db.session.execute(delete(Guardian).where(Guardian.user_id == other.id, Guardian.student_id.in_(kept_students)))
    kept_likes = select(Like.record_id).where(Like.user_id == keep.id)
    for like in db.session.scalars(select(Like).where(Like.user_id == other.id, Like.record_id.in_(kept_likes))):
        _forget_like(like)
    if _one_teacher(keep) is not None:
        db.session.execute(update(Teacher).where(Teacher.user_id == other.id).values(user_id=None))
    if db.session.scalars(select(Referral.id).where(Referral.referred_user_id == keep.id)).first():
        db.session.execute(delete(Referral).where(Referral.referred_user_id == other.id))
    # A person who "referred" their own other row referred nobody.
    db.session.execute(
        delete(Referral).where(
            Referral.status == "pending",
            ((Referral.referrer_user_id == keep.id) & (Referral.referred_user_id == other.id))
            | ((Referral.referrer_user_id == other.id) & (Referral.referred_user_id == keep.id)),
        )
    )
    db.session.flush()


def _forget_like(like):
    from school_points.models import GrowthRecord

    db.session.execute(
        update(GrowthRecord)
        .where(GrowthRecord.id == like.record_id, GrowthRecord.like_count > 0)
        .values(like_count=GrowthRecord.like_count - 1)
    )
    db.session.delete(like)


def _one_teacher(user):
    return db.session.scalars(select(Teacher.id).where(Teacher.user_id == user.id)).first()


def _move_references(keep, other):
    """Point every foreign key on wechat_user.id that names `other` at `keep`."""
    user_table = WechatUser.__table__
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is user_table and fk.column.name == "id":
                column = fk.parent
                db.session.execute(update(table).where(column == other.id).values({column.name: keep.id}))
    db.session.flush()
