"""Events of the official account: follow/unfollow, QR scenes, menu clicks, template receipts."""

import logging

from school_points.people import account_links, oa_users
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.platform.logsafe import log_id
from school_points.points import referral
from school_points.wechat import delivery
from school_points.wechat.followers import sync_follower

from . import texts
from .replies import say, silent

log = logging.getLogger(__name__)


def handle_event(message, key, click_commands):
    """The Outcome of one event; `click_commands` maps menu keys to command handlers."""
    event = (message._data.get("Event") or "").lower()
    if event in ("subscribe", "subscribe_scan"):
        return subscribe(message, scene=_scene(message) if event == "subscribe_scan" else "")
    if event == "scan":
        return scan(message, _scene(message))
    if event == "unsubscribe":
        return unsubscribe(message)
    if event == "templatesendjobfinish":
        delivery.record_delivery_status(
            message._data.get("MsgID") or message._data.get("MsgId"), message._data.get("Status")
        )
        return silent()
    if event == "click":
        command = click_commands.get(str(message._data.get("EventKey") or ""))
        if command is not None:
            return command(message, oa_users.following_user(message.source), key)
        return say(message, texts.HELP)
    return silent()  # VIEW, LOCATION and other events need no answer


def subscribe(message, scene=""):
    """Follow (optionally by scanning a scene QR code): welcome, and whatever the scene says."""
    result = _run_scene(message, scene, following_before=False) if scene else ""
    user, _ = oa_users.find_or_create_oa_user(message.source)
    oa_users.set_subscribed(user, True)
    jobs = [] if user.unionid else [(sync_follower, message.source)]
    return say(message, texts.WELCOME + ("\n\n" + result if result else ""), *jobs)


def scan(message, scene):
    """An existing follower scanned a scene QR code."""
    result = _run_scene(message, scene, following_before=True)
    user, _ = oa_users.find_or_create_oa_user(message.source)
    if not user.oa_subscribed:
        oa_users.set_subscribed(user, True)
    return say(message, result or texts.HELP)


def unsubscribe(message):
    """Unfollow: template messages stop (notifications fall back to the mini-program)."""
    user = oa_users.find_oa_user(message.source)
    if user is not None:
        oa_users.set_subscribed(user, False)
    return silent()


def _run_scene(message, scene, *, following_before):
    """Do what a QR scene says (docs/WECHAT.md); returns the text to add to the reply."""
    openid = message.source
    try:
        with db.session.begin_nested():
            if scene.startswith(account_links.SCENE_PREFIX):
                account_links.consume_link(scene, openid)
                return texts.LINKED
            user, created = oa_users.find_or_create_oa_user(openid)
            if scene.startswith("ref_"):
                referral.record_referral(user, scene[len("ref_") :], known_before=following_before or not created)
                return ""
            if scene.startswith("bind_"):
                guardian = referral.bind_and_reward(user, scene[len("bind_") :])
                return texts.BOUND_VIA_SCENE.format(name=guardian.student.name)
    except DomainError as exc:
        # The scene's code binds a child or links an account, and the openid names a parent:
        # the log gets the kind of scene and a digest of the sender only.
        log.info("%s scene refused for %s: %s", _scene_kind(scene), log_id(openid), exc.code)
        return texts.SCENE_FAILED.format(reason=exc.message)
    return ""


def _scene(message):
    scene = str(message._data.get("EventKey") or "")
    return scene[len("qrscene_") :] if scene.startswith("qrscene_") else scene


def _scene_kind(scene):
    for prefix in (account_links.SCENE_PREFIX, "ref_", "bind_"):
        if scene.startswith(prefix):
            return prefix.rstrip("_")
    return "unknown"
