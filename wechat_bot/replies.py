"""Reply XML for the callback, and the Outcome a handler returns."""

from dataclasses import dataclass, field

from wechatpy.replies import TextReply


@dataclass
class Outcome:
    """A handler's result: the reply XML ("" for none) and jobs to enqueue after the commit."""

    reply_xml: str = ""
    jobs: list = field(default_factory=list)


def text_reply(message, text):
    """A text reply to `message` (sender and receiver swapped)."""
    return TextReply(message=message, content=text).render()


def say(message, text, *jobs):
    """An Outcome that answers `text` and enqueues `jobs` ((func, *args) tuples) after commit."""
    return Outcome(text_reply(message, text), list(jobs))


def silent(*jobs):
    """An Outcome with no reply (events WeChat expects no answer to)."""
    return Outcome("", list(jobs))
