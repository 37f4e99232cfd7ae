"""Which handler answers a message: events, text commands, photos, everything else."""

from school_points.people import oa_users
from school_points.points import growth
from school_points.points.oa_checkins import sent_of

from . import commands, texts
from .events import handle_event
from .replies import say

# Exact texts (after trimming) and their commands.
EXACT = {
    "积分": commands.points,
    "签到": commands.sign_in,
    "兑换记录": commands.redemptions,
    "推荐": commands.refer,
}
# Commands followed by an argument: "打卡 练琴 30 分钟", "绑定 AB23CD45", "切换 王小明".
WITH_ARGUMENT = {
    "打卡": commands.check_in_explained,  # valid check-ins never get here: see checkin_of
    "绑定": commands.bind,
    "切换": commands.switch,
}
ARGUMENT_SEPARATORS = " \t\r\n:：,，"
CHECKIN_WORD = "打卡"

# Menu CLICK keys (see school_points/wechat/cli.py for the menu itself).
CLICK_COMMANDS = {
    "POINTS": commands.points,
    "SIGNIN": commands.sign_in,
    "CHECKIN": commands.usage(texts.CHECKIN_USAGE),
    "REDEMPTIONS": commands.redemptions,
    "REFERRAL": commands.refer,
    "BIND": commands.usage(texts.BIND_USAGE),
    "HELP": commands.usage(texts.HELP),
}


def handle(message, key):
    """The Outcome for one parsed message (called once per message by the inbox)."""
    if message.type == "event":
        return handle_event(message, key, CLICK_COMMANDS)
    sent = checkin_of(message)
    if sent is not None:  # the hot path: the check-in finds (or creates) the sender itself
        return commands.check_in(message, key, sent)
    user = oa_users.following_user(message.source)
    if message.type == "text":
        return handle_text(message, user, key)
    return say(message, texts.UNSUPPORTED_MESSAGE)


def checkin_of(message):
    """What a check-in carries ({content, media_id}): "打卡 <内容>" or a photo; None for any other
    message, and for a check-in that needs explaining instead (nothing or too much after 打卡)."""
    if message.type == "image":
        media_id = str(message._data.get("MediaId") or "").strip()
        return sent_of(media_id=media_id) if media_id else None
    if message.type != "text":
        return None
    text = (message._data.get("Content") or "").strip()
    if not text.startswith(CHECKIN_WORD):
        return None
    content = text[len(CHECKIN_WORD) :].strip(ARGUMENT_SEPARATORS)
    if not content or len(content) > growth.MAX_CONTENT_LENGTH:
        return None
    return sent_of(content=content)


def handle_text(message, user, key):
    """A text command, or the short help for anything else."""
    text = (message._data.get("Content") or "").strip()
    if text in EXACT:
        return EXACT[text](message, user, key)
    for word, command in WITH_ARGUMENT.items():
        if text.startswith(word):
            return command(message, user, key, text[len(word) :].strip(ARGUMENT_SEPARATORS))
    return say(message, texts.UNKNOWN_COMMAND)
