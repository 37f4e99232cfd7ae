"""The unit of work: what a transaction owes after its commit, kept on the session itself.

Views, the bot, jobs and the CLI all end a piece of work the same way: `db.session.commit()`,
or `db.session.rollback()` to drop it. What must happen only once the work is committed
(enqueue the delivery of the notifications it recorded, a job, the bot's reply cache) is
registered on the session while the work is done, with `after_commit(session, fn, *args)`;
SQLAlchemy's session events then run it after the commit, or drop it with a rollback. No caller
has to remember to dispatch anything, and nothing lives in `flask.g`, so a job or a command
outside any request behaves as a request does.

- Effects run in registration order, after the outermost transaction has committed and ended
  (so an effect may use the session again: it starts a new transaction, whose own effects run
  after its own commit).
- An effect that raises is logged and skipped; the commit stands and the other effects still run.
- SAVEPOINTs (`session.begin_nested()`): effects registered inside one that rolls back are
  dropped with it; those of one that is released wait for the outer transaction's commit (and are
  dropped if it rolls back).
- `transaction_cache(session)`: a dict for values read in this transaction (the school settings),
  emptied whenever a transaction ends or any savepoint rolls back, so the next transaction reads
  them afresh.
- `run_now(fn, *args)`: for a statement that ran as its own transaction past the session
  (`platform.autocommit.own_transaction`), whose commit has already happened: the effect runs at
  once, with the same guard (logged, never raised).
"""

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger(__name__)

_EFFECTS = "uow.effects"  # [[boundary transaction, fn, args, kwargs, collects], ...] in order
_READY = "uow.ready"  # effects of a committed outermost transaction, run when it has ended
_CACHE = "uow.cache"


def after_commit(session, fn, *args, **kwargs) -> None:
    """Run `fn(*args, **kwargs)` once the session's current transaction has committed; never if
    it (or the savepoint it was registered in) rolls back."""
    session = _real(session)
    _effects(session).append([_boundary(session), fn, args, kwargs, False])


def collect_after_commit(session, fn, items) -> None:
    """Call `fn(list_of_items)` once after the commit with every item collected by this call and
    the later calls for the same `fn` in the same transaction (or savepoint): one batch instead
    of one call per item (a class-wide evaluation records 40 notifications)."""
    items = list(items)
    if not items:
        return
    session = _real(session)
    effects, boundary = _effects(session), _boundary(session)
    for effect in reversed(effects):
        if effect[0] is not boundary:
            break
        if effect[4] and effect[1] is fn:
            effect[2][0].extend(items)
            return
    effects.append([boundary, fn, (items,), {}, True])


def run_now(fn, *args, **kwargs) -> None:
    """Run the effect of a statement already committed on its own: at once, logged if it raises."""
    _run(fn, args, kwargs)


def pending(session) -> list[tuple]:
    """The effects waiting for the session's commit, as (fn, args) in order (for tests and logs)."""
    return [(fn, args) for _, fn, args, _, _ in _real(session).info.get(_EFFECTS, ())]


def discard_pending(session) -> None:
    """Forget the effects registered so far, keeping the work (a test that records outbox rows
    and delivers them itself)."""
    _real(session).info.pop(_EFFECTS, None)


def transaction_cache(session) -> dict:
    """A dict for what this transaction read and may read again; emptied when it ends."""
    return _real(session).info.setdefault(_CACHE, {})


def _real(session):
    """The Session itself: `db.session` is a scoped_session, the registry of this context's one."""
    return session() if isinstance(session, scoped_session) else session


def _effects(session):
    return session.info.setdefault(_EFFECTS, [])


def _boundary(session):
    """The transaction a rollback would undo an effect's work with: the innermost savepoint, or
    the outermost transaction (begun here when none is open yet, as the next statement would)."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        transaction = session.begin()
    return transaction


def _run(fn, args, kwargs):
    try:
        fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the work is committed: one failed effect must not undo the answer
        log.exception("effect %s after commit failed", getattr(fn, "__qualname__", fn))


@event.listens_for(Session, "after_commit")
def _committed(session):
    # Fires for a released savepoint too (the savepoint is still the session's nested transaction
    # then): its effects now belong to the enclosing transaction and wait for its commit.
    nested = session.get_nested_transaction()
    effects = session.info.get(_EFFECTS)
    if nested is not None:
        if effects:
            parent = nested.parent
            while parent.parent is not None and not parent.nested:
                parent = parent.parent
            for effect in effects:
                if effect[0] is nested:
                    effect[0] = parent
        return
    if effects:
        session.info[_READY] = session.info.pop(_EFFECTS)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session, previous_transaction):
    # Called for every transaction the rollback closed, innermost first: drop what each one owed.
    session.info.pop(_CACHE, None)
    effects = session.info.get(_EFFECTS)
    if effects:
        effects[:] = [effect for effect in effects if effect[0] is not previous_transaction]


@event.listens_for(Session, "after_transaction_end")
def _ended(session, transaction):
    if transaction.parent is not None:
        return
    session.info.pop(_CACHE, None)
    # Whatever is still registered belongs to a transaction closed without a commit
    # (`session.close()`): it is void, like the work it followed.
    session.info.pop(_EFFECTS, None)
    ready = session.info.pop(_READY, None)
    if not ready:
        return
    # Run outside the ended transaction: an effect may start another one (an in-process job),
    # whose own effects run when that one ends.
    for _, fn, args, kwargs, _ in ready:
        _run(fn, args, kwargs)
