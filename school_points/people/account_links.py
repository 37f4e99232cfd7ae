"""One-time `link_<token>` scenes (docs/WECHAT.md): join an official-account openid to a mini-program user.

The mini-program asks for a link (POST /me/oa-link) and shows the official account's QR code for
the scene; when the same person scans it, the official-account bot calls `consume_link` with the
scene's token and the scanner's openid.
"""

import secrets
from datetime import timedelta

from sqlalchemy import select

from school_points.models import AccountLink, WechatUser
from school_points.people.users import merge_users
from school_points.platform.clock import as_aware, utcnow
from school_points.platform.errors import DomainError, NotFound
from school_points.platform.extensions import db

SCENE_PREFIX = "link_"
LINK_TTL_SECONDS = 600


class LinkNotFound(NotFound):
    code, message = "link_not_found", "关联二维码无效或已过期，请在小程序中重新获取"


class AlreadyLinked(DomainError):
    code, message = "account_already_linked", "该公众号账号已关联其他小程序用户"


def create_link(user, *, ttl_seconds=LINK_TTL_SECONDS) -> AccountLink:
    """A new one-time link for `user`; its scene is `scene_for(link)`."""
    link = AccountLink(
        token=secrets.token_urlsafe(16),
        user_id=user.id,
        expires_at=utcnow() + timedelta(seconds=ttl_seconds),
        created_at=utcnow(),
    )
    db.session.add(link)
    db.session.flush()
    return link


def scene_for(link) -> str:
    """The QR scene string of a link (≤ 64 characters, as WeChat requires)."""
    return SCENE_PREFIX + link.token


def consume_link(token, oa_openid) -> WechatUser:
    """Join `oa_openid` to the link's user, once; returns that user.

    Raises LinkNotFound for an unknown, expired or already used token (a repeat by the same openid
    returns the user again, so WeChat's retries are harmless) and AlreadyLinked when either side is
    already joined to someone else.
    """
    if token.startswith(SCENE_PREFIX):
        token = token[len(SCENE_PREFIX) :]
    link = db.session.scalars(select(AccountLink).where(AccountLink.token == token).with_for_update()).first()
    if link is None:
        raise LinkNotFound()
    user = db.session.get(WechatUser, link.user_id)
    if link.consumed_at is not None:
        if link.consumed_oa_openid == oa_openid and user is not None:
            return user
        raise LinkNotFound()
    if as_aware(link.expires_at) <= utcnow() or user is None:
        raise LinkNotFound()
    user = _join(user, oa_openid)
    link.consumed_at = utcnow()
    link.consumed_oa_openid = oa_openid
    db.session.flush()
    return user


def _join(user, oa_openid):
    if user.oa_openid == oa_openid:
        return user
    if user.oa_openid is not None:
        raise AlreadyLinked()
    follower = db.session.scalars(select(WechatUser).where(WechatUser.oa_openid == oa_openid)).first()
    if follower is None:
        user.oa_openid = oa_openid
        return user
    if follower.mp_openid is not None or (follower.unionid and user.unionid and follower.unionid != user.unionid):
        raise AlreadyLinked()
    return merge_users(keep=user, other=follower)
