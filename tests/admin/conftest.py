"""Admin API fixtures: admins of each kind, logged in through the real login route."""

import pytest

from school_points.people.admins import create_admin
from school_points.platform.extensions import db
from tests.admin.admin_testkit import PASSWORD, AdminApi, QueryCounter


@pytest.fixture
def make_admin(app):
    def make(username="admin", campus_id=None):
        admin = create_admin(username, PASSWORD, campus_id=campus_id)
        db.session.commit()
        return admin

    return make


def login(client, username):
    response = AdminApi(client).post("/auth/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.json
    return AdminApi(client, response.json["token"])


@pytest.fixture
def api(app, make_admin):
    """A super admin (all campuses), logged in."""
    make_admin("boss")
    return login(app.test_client(), "boss")


@pytest.fixture
def other_campus(make_campus):
    return make_campus("分校区")


@pytest.fixture
def campus_api(app, make_admin, campus):
    """A campus admin of the `campus` fixture (总校区), logged in."""
    make_admin("campus-boss", campus_id=campus.id)
    return login(app.test_client(), "campus-boss")


@pytest.fixture
def fresh_api(app):
    """An anonymous client of the admin API."""
    return AdminApi(app.test_client())


@pytest.fixture
def count_queries(app):
    return lambda: QueryCounter(db.engine)


def pytest_collection_modifyitems(items):
    """SQLAlchemy warnings in the admin tests are bugs (e.g. half-built rows flushed early)."""
    for item in items:
        if "tests/admin/" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning"))
