"""Arbitrary JSON at every admin route that takes a body: a documented 4xx or success, never a 500."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.admin.admin_testkit import AdminApi

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=False),
    st.text(max_size=80),
    st.text(alphabet=st.characters(max_codepoint=0x3000), max_size=10).map(lambda t: t + "\x00"),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "name",
        "campus_id",
        "class_ids",
        "teacher_ids",
        "student_ids",
        "birthday",
        "status",
        "delta",
        "reason",
        "points",
        "stock",
        "limit_per_student",
        "on_shelf",
        "sort",
        "verify_code",
        "image_url",
        "description",
        "active",
        "like",
        "mall",
        "evaluation",
        "notifications",
        "signin",
        "expiry",
        "point_value_fen",
    ]
)
bodies = st.dictionaries(field_names, values, max_size=3)
ALLOWED = {200, 201, 400, 403, 404, 409, 413, 422}


@pytest.fixture
def fuzz_school(api, make_student, make_class, make_teacher, make_goods):
    student = make_student(balance=50)
    ids = {"student": student.id, "klass": make_class().id, "teacher": make_teacher().id, "goods": make_goods().id}
    return AdminApi(api.client, api.token), ids


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=bodies,
    route=st.sampled_from(
        [
            ("post", "/students"),
            ("patch", "/students/{student}"),
            ("post", "/students/{student}/adjustments"),
            ("post", "/classes"),
            ("patch", "/classes/{klass}"),
            ("post", "/teachers"),
            ("patch", "/teachers/{teacher}"),
            ("post", "/goods"),
            ("patch", "/goods/{goods}"),
            ("patch", "/settings"),
            ("post", "/campuses"),
            ("post", "/redemptions/1/cancel"),
        ]
    ),
)
def test_no_body_makes_a_500(fuzz_school, body, route):
    method, path = route
    api, ids = fuzz_school
    response = getattr(api, method)(path.format(**ids), body)
    assert response.status_code in ALLOWED, (route, body, response.json)


def test_fuzz_fixture_is_a_real_school(fuzz_school):
    api, ids = fuzz_school
    assert api.get(f"/students/{ids['student']}").status_code == 200


query_values = st.one_of(
    st.text(max_size=30), st.integers(min_value=-(2**70), max_value=2**70).map(str), st.dates().map(str)
)
query_names = st.sampled_from(
    [
        "q",
        "campus_id",
        "class_id",
        "status",
        "student_id",
        "goods_id",
        "on_shelf",
        "from",
        "to",
        "action",
        "target_type",
        "target_id",
        "limit",
        "cursor",
        "x",
        "format",
        "include_bind_codes",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    params=st.dictionaries(query_names, query_values, max_size=3),
    path=st.sampled_from(
        [
            "/students",
            "/classes",
            "/teachers",
            "/goods",
            "/redemptions",
            "/campuses",
            "/audit-log",
            "/reports/summary",
            "/students/{student}/points/history",
            "/ledger/export",
            "/redemptions/export",
            "/students/export",
            "/reports/daily",
        ]
    ),
)
def test_no_query_string_makes_a_500(fuzz_school, params, path):
    api, ids = fuzz_school
    response = api.get(path.format(**ids), **params)
    assert response.status_code in {200, 404, 422}, (path, params, response.json)
