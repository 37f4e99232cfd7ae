"""Fixtures for the official-account callback tests."""

import pytest

from tests.fakewechat import fake_wechat  # noqa: F401 - re-exported fixture
from tests.jobs.conftest import run_worker, throwaway_redis  # noqa: F401 - re-exported fixtures
from tests.wechat_bot.officialaccount import AES_KEY, OfficialAccount, oa_config  # noqa: F401 - re-exported fixture


@pytest.fixture
def oa(client, oa_config):
    """Plaintext-mode official account."""
    return OfficialAccount(client)


@pytest.fixture
def oa_safe(app, client, oa_config):
    """Safe-mode (AES) official account: the EncodingAESKey is configured (oa_config restores it)."""
    app.config["WECHAT_OA_AES_KEY"] = AES_KEY
    return OfficialAccount(client, safe=True)


@pytest.fixture
def parent(make_student, make_user, make_guardian):
    """A follower bound to one student (王小明, 100 points); returns (openid, user, student)."""
    student = make_student(name="王小明", balance=100)
    user = make_user(oa_openid="oa-parent-1")
    user.oa_subscribed = True
    make_guardian(student, user=user)
    return "oa-parent-1", user, student


@pytest.fixture
def sync_bot(app):
    """No Redis for this test: check-ins are done in the request and answered with the result."""
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = None
    app.extensions.pop("redis", None)
    yield
    app.config["REDIS_URL"] = saved
    app.extensions.pop("redis", None)
