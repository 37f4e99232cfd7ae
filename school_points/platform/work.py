"""Finishing a piece of work: commit it and run what it owes after the commit, or drop it all.

Until the unit of work (issue 10, point 1) replaces this module, two capabilities keep state for
the current request or command in `flask.g`: the school settings cached for it
(school.settings) and the notifications it recorded, to deliver after the commit
(wechat.notifications). Platform imports nothing above it, so those modules register here, when
they are imported, what to run after a commit and what to forget after a rollback. A module that
was never imported cannot have left anything to run or to forget.
"""
from collections.abc import Callable

from school_points.platform.extensions import db

_after_commit = []
_after_rollback = []


def after_commit(hook) -> Callable[[], None]:
    """Run `hook()` after every `commit_work()` (registered once, at import of its module)."""
    if hook not in _after_commit:
        _after_commit.append(hook)
    return hook


def after_rollback(hook) -> Callable[[], None]:
    """Run `hook()` after every `abandon_work()` (registered once, at import of its module)."""
    if hook not in _after_rollback:
        _after_rollback.append(hook)
    return hook


def commit_work() -> None:
    """Commit the session, then do what the work owed after its commit (deliver notifications)."""
    db.session.commit()
    for hook in _after_commit:
        hook()


def abandon_work() -> None:
    """Undo what a refused request or command did: the transaction, the settings it cached in it
    and the notifications it meant to send after the commit."""
    db.session.rollback()
    for hook in _after_rollback:
        hook()
