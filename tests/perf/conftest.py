"""Fixtures for the redemption fast-path tests; the mini-program's people come from its own conftest."""

from tests.miniprogram_api.conftest import as_user, family  # noqa: F401 - re-exported fixtures
from tests.school_points.conftest import rules  # noqa: F401 - re-exported fixture
