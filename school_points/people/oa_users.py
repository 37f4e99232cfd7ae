"""Official-account followers as WechatUser rows, found or created by their oa_openid.

The official account knows a person by an openid of its own; unionid (from WeChat's user info,
fetched by a job) or a `link_` scene joins that row with the person's mini-program row.
"""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from school_points.models import WechatUser
from school_points.people.users import merge_users
from school_points.platform.codes import new_code
from school_points.platform.extensions import db

MAX_OPENID_LENGTH = 64


def find_oa_user(openid) -> WechatUser | None:
    """The user with this official-account openid, or None."""
    return db.session.scalars(select(WechatUser).where(WechatUser.oa_openid == openid)).first()


def find_or_create_oa_user(openid) -> tuple[WechatUser, bool]:
    """(user, created) for an official-account openid; concurrent first messages create one row."""
    if not openid or len(openid) > MAX_OPENID_LENGTH:
        raise ValueError("an official-account openid is 1 to 64 characters")
    for _ in range(3):
        user = find_oa_user(openid)
        if user is not None:
            return user, False
        user = WechatUser(oa_openid=openid, referral_code=_free_referral_code())
        try:
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:  # a concurrent message of the same person (or a code clash) won
            continue
        return user, True
    raise RuntimeError("could not settle the official-account user after concurrent inserts")


def set_subscribed(user, subscribed) -> None:
    """Record follow/unfollow: template messages go only to followers."""
    user.oa_subscribed = bool(subscribed)
    db.session.flush()


def following_user(openid) -> WechatUser:
    """The user who sent a message or clicked the menu: only followers can, so they are marked as
    following (people who followed before this system existed never sent a subscribe event)."""
    user, _ = find_or_create_oa_user(openid)
    if not user.oa_subscribed:
        set_subscribed(user, True)
    return user


def attach_unionid(user, unionid) -> WechatUser:
    """Join the official-account row with the mini-program row that has the same unionid."""
    if not unionid or user.unionid == unionid:
        return user
    other = db.session.scalars(select(WechatUser).where(WechatUser.unionid == unionid)).first()
    if other is None:
        user.unionid = unionid
        db.session.flush()
        return user
    if user.unionid is not None or (other.oa_openid is not None and other.oa_openid != user.oa_openid):
        return user  # WeChat's data disagrees with ours; leave both rows as they are
    return merge_users(keep=other, other=user)


def _free_referral_code():
    for _ in range(10):
        code = new_code(8)
        if db.session.scalars(select(WechatUser.id).where(WechatUser.referral_code == code)).first() is None:
            return code
    raise RuntimeError("no free referral code after 10 tries")
