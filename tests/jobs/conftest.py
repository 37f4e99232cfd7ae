"""Fixtures for background jobs: notifications to send, a real RQ worker, a Redis we may kill."""

import shutil

import pytest

from school_points.ops.worker import make_worker
from school_points.platform import uow
from school_points.platform.extensions import db
from school_points.school.settings import update_settings
from school_points.wechat.notifications import notify_student
from tests.fakewechat import fake_wechat  # noqa: F401 - re-exported fixture
from tests.redis_server import ThrowawayRedis, free_port  # noqa: F401 - free_port is used by other tests
from tests.wechat_bot.officialaccount import oa_config  # noqa: F401 - re-exported fixture

TEMPLATE = "TPL-REDEEMED"


@pytest.fixture
def notifications_on(app):
    """Every notification kind enabled with a template id (the default field mappings)."""
    update_settings(
        {
            "notifications": {
                kind: {"enabled": True, "template_id": f"TPL-{kind.upper()}"}
                for kind in ("redeemed", "issued", "cancelled", "points_awarded", "expiring")
            }
        }
    )
    db.session.commit()


@pytest.fixture
def follower(make_student, make_user, make_guardian):
    """A parent who follows the official account and also uses the mini-program; returns (user, student)."""
    student = make_student(name="王小明", balance=100)
    user = make_user(mp_openid="mp-parent", oa_openid="oa-parent")
    user.oa_subscribed = True
    make_guardian(student, user=user)
    return user, student


@pytest.fixture
def notify(app, monkeypatch):
    """Record one `redeemed` notification for a student (as a domain operation would); returns it.

    Delivery is not dispatched here: tests run `deliver` or a worker themselves.
    """

    def make(student, key="order-1", **values):
        values = {"goods": "铅笔", "points": 30, "balance": 70, **values}
        created = notify_student("redeemed", student.id, values, key=key)
        uow.discard_pending(db.session)  # no delivery job: the test delivers it itself
        db.session.commit()
        return created[0]

    return make


@pytest.fixture
def throwaway_redis(app):
    """The app pointed at a throwaway Redis (started); restored afterwards."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = ThrowawayRedis.started()
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = server.url
    app.extensions.pop("redis", None)
    app.extensions.pop("wechat_clients", None)
    try:
        yield server
    finally:
        server.stop()
        app.config["REDIS_URL"] = saved
        app.extensions.pop("redis", None)
        app.extensions.pop("wechat_clients", None)


@pytest.fixture
def run_worker(app):
    """Run every queued job with a real RQ worker (burst, in this process, app context per job)."""

    def run():
        from school_points.platform.redis_conn import get_redis

        db.session.commit()  # release this session's transaction (SQLite: its write lock) first
        worker = make_worker(app, connection=get_redis())
        # No command channel (RQ's pubsub thread, for `rq` stop/kill commands, which no burst here
        # is sent): stopping that thread waits up to a second for its blocked read, on every burst.
        worker.subscribe = lambda: None
        worker.work(burst=True)
        db.session.rollback()  # a fresh transaction sees what the jobs committed
        return worker

    return run
