"""sync_follower(openid): ask WeChat for a new follower's unionid and join it with their
mini-program identity (WeChat's callback messages never carry the unionid)."""

import logging

from school_points.people import oa_users
from school_points.platform.extensions import db
from school_points.platform.logsafe import log_id
from school_points.wechat import clients

log = logging.getLogger(__name__)
USER_INFO_TIMEOUT = 3


def sync_follower(openid) -> str | None:
    """Attach the follower's unionid (merging with the mini-program row); returns the unionid or None."""
    user = oa_users.find_oa_user(openid)
    if user is None or user.unionid:
        return user.unionid if user else None
    db.session.rollback()  # no transaction held open across the WeChat call (up to USER_INFO_TIMEOUT)
    try:
        info = clients.call(
            clients.oa_client(),
            lambda c: c.get("user/info", params={"openid": openid, "lang": "zh_CN"}, timeout=USER_INFO_TIMEOUT),
        )
    except clients.WechatUnavailable as exc:
        log.info("user info of %s not fetched: %s", log_id(openid), exc)
        return None
    unionid = info.get("unionid") if isinstance(info, dict) else None
    user = oa_users.find_oa_user(openid) if unionid else None  # read again: WeChat took its time
    if user is not None:
        oa_users.attach_unionid(user, unionid)
    db.session.commit()
    return unionid
