"""The unit of work (school_points/platform/uow.py): effects run after the commit, in order, once;
never after a rollback; a failing one is logged and harms nothing else."""

import logging

import pytest
from sqlalchemy import select, text

from school_points.models import Campus, SchoolSetting
from school_points.platform import uow
from school_points.platform.extensions import db
from school_points.platform.queue import run_inline
from school_points.school.settings import get_settings, update_settings


@pytest.fixture
def ran():
    """The effects that ran, in order; `ran.effect(name)` is a function recording `name`."""

    class Ran(list):
        def effect(self, name):
            return lambda *args: self.append((name, *args))

    return Ran()


def campus_names():
    """What is committed, read on a connection of its own (not the session's transaction)."""
    with db.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT name FROM campus")).scalars())


def add_campus(name):
    db.session.add(Campus(name=name))
    db.session.flush()


def test_an_effect_runs_after_the_commit_in_registration_order(app, ran):
    add_campus("总校区")
    seen_at_run = []
    uow.after_commit(db.session, ran.effect("first"))
    uow.after_commit(db.session, lambda: seen_at_run.append(campus_names()))
    uow.after_commit(db.session, ran.effect("third"), 3)
    assert ran == []  # nothing before the commit
    db.session.commit()
    assert ran == [("first",), ("third", 3)]
    assert seen_at_run == [["总校区"]]  # the work was committed when the effect ran


def test_an_effect_of_a_transaction_that_rolls_back_never_runs(app, ran):
    """A refused request (the error handlers roll back) sends no notification for work undone."""
    add_campus("分校区")
    uow.after_commit(db.session, ran.effect("undone"))
    db.session.rollback()
    add_campus("总校区")
    db.session.commit()  # the next transaction's commit does not run the dropped effect
    assert ran == []
    assert campus_names() == ["总校区"]


def test_an_effect_of_a_savepoint_that_rolls_back_never_runs_and_the_outer_effects_do(app, ran):
    add_campus("总校区")
    uow.after_commit(db.session, ran.effect("before"))
    with pytest.raises(RuntimeError), db.session.begin_nested():
        add_campus("分校区")
        uow.after_commit(db.session, ran.effect("in the failed savepoint"))
        raise RuntimeError("refused")
    uow.after_commit(db.session, ran.effect("after"))
    db.session.commit()
    assert ran == [("before",), ("after",)]
    assert campus_names() == ["总校区"]


def test_an_effect_of_a_released_savepoint_waits_for_the_outer_commit(app, ran):
    with db.session.begin_nested():
        add_campus("总校区")
        uow.after_commit(db.session, ran.effect("released"))
    assert ran == []  # releasing the savepoint commits nothing yet
    with db.session.begin_nested(), db.session.begin_nested():
        uow.after_commit(db.session, ran.effect("two levels down"))
    db.session.commit()
    assert ran == [("released",), ("two levels down",)]


def test_an_effect_of_a_released_savepoint_is_dropped_when_the_outer_transaction_rolls_back(app, ran):
    with db.session.begin_nested():
        add_campus("总校区")
        uow.after_commit(db.session, ran.effect("released"))
    db.session.rollback()
    db.session.commit()
    assert ran == []


def test_an_effect_registered_in_a_job_runs_exactly_once_after_its_commit(app, ran):
    """A job (no request, here run as the in-process queue runs it) owes the same as a view: its
    effects run once after its commit, and a later commit in the same process does not repeat them."""

    def job():
        add_campus("总校区")
        uow.after_commit(db.session, lambda: ran.append(("delivered", campus_names())))
        db.session.commit()

    run_inline(job)
    assert ran == [("delivered", ["总校区"])]
    add_campus("分校区")
    db.session.commit()
    db.session.rollback()
    assert ran == [("delivered", ["总校区"])]


def test_an_effect_that_raises_is_logged_and_the_others_still_run(app, ran, caplog):
    def broken():
        raise ValueError("Redis said no")

    add_campus("总校区")
    uow.after_commit(db.session, ran.effect("first"))
    uow.after_commit(db.session, broken)
    uow.after_commit(db.session, ran.effect("last"))
    with caplog.at_level(logging.ERROR, logger="school_points.platform.uow"):
        db.session.commit()  # does not raise
    assert ran == [("first",), ("last",)]
    assert campus_names() == ["总校区"]
    assert "broken" in caplog.text and "Redis said no" in caplog.text


def test_a_failing_effect_does_not_break_the_response(app, ran):
    from webkit.responses import respond

    def broken():
        raise ValueError("no")

    with app.test_request_context("/api/v1/anything", method="POST"):
        add_campus("总校区")
        uow.after_commit(db.session, broken)
        uow.after_commit(db.session, ran.effect("other"))
        response = respond({"ok": True}, 201)
    assert response.status_code == 201
    assert ran == [("other",)]
    assert campus_names() == ["总校区"]


def test_an_effect_may_use_the_session_and_its_own_effects_run_after_its_own_commit(app, ran):
    """An in-process job run as an effect commits a transaction of its own, with effects of its own."""

    def job():
        add_campus("分校区")
        uow.after_commit(db.session, ran.effect("inner"))
        db.session.commit()
        ran.append(("job done",))

    add_campus("总校区")
    uow.after_commit(db.session, job)
    uow.after_commit(db.session, ran.effect("outer"))
    db.session.commit()
    assert ran == [("inner",), ("job done",), ("outer",)]
    assert campus_names() == ["分校区", "总校区"]


def test_collected_items_make_one_call_per_transaction_and_drop_with_their_savepoint(app, ran):
    batch = ran.effect("batch")
    uow.collect_after_commit(db.session, batch, [1, 2])
    uow.collect_after_commit(db.session, batch, [3])
    with pytest.raises(RuntimeError), db.session.begin_nested():
        uow.collect_after_commit(db.session, batch, [4])
        raise RuntimeError("refused")
    uow.collect_after_commit(db.session, batch, [])
    db.session.commit()
    assert ran == [("batch", [1, 2, 3])]


def test_a_closed_session_forgets_what_its_unfinished_transaction_owed(app, ran):
    add_campus("总校区")
    uow.after_commit(db.session, ran.effect("never"))
    db.session.close()
    db.session.commit()
    assert ran == []


def test_settings_are_read_once_per_transaction_and_afresh_in_the_next(app):
    """A job or command reads the settings its transaction sees: a change committed elsewhere
    between two of its transactions is seen by the second (before, the request's cache in
    flask.g kept the old settings for the whole app context)."""
    assert get_settings()["checkin"]["points"] == 5
    db.session.commit()
    with db.engine.begin() as conn:  # another process changes them
        conn.execute(SchoolSetting.__table__.insert().values(id=1, data={"checkin": {"points": 7}}))
    assert get_settings()["checkin"]["points"] == 7


def test_settings_changed_in_a_savepoint_that_rolls_back_are_forgotten(app):
    assert get_settings()["checkin"]["points"] == 5
    with pytest.raises(RuntimeError), db.session.begin_nested():
        update_settings({"checkin": {"points": 9}})
        assert get_settings()["checkin"]["points"] == 9
        raise RuntimeError("refused")
    assert get_settings()["checkin"]["points"] == 5
    db.session.commit()
    assert db.session.scalars(select(Campus)).all() == []
