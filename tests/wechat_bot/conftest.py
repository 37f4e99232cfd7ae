"""Fixtures for the official-account callback tests."""
from tests.fakewechat import fake_wechat  # noqa: F401 - re-exported fixture
