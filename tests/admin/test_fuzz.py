"""Arbitrary JSON at every admin route that takes a body, and any file at the roster import: a
documented 4xx or success, never a 500."""

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.admin.admin_testkit import AdminApi
from tests.roster_files import xlsx

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

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
        # admin accounts and one's own password
        "username",
        "password",
        "role",
        "old_password",
        "new_password",
    ]
)
bodies = st.dictionaries(field_names, values, max_size=3)
ALLOWED = {200, 201, 400, 403, 404, 409, 413, 422}


@pytest.fixture
def fuzz_school(api, make_student, make_class, make_teacher, make_goods, make_admin, campus):
    student = make_student(balance=50)
    ids = {"student": student.id, "klass": make_class().id, "teacher": make_teacher().id, "goods": make_goods().id}
    ids.update(admin=make_admin("desk").id, campus=campus.id)
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
            ("post", "/admins"),
            ("patch", "/admins/{admin}"),
            ("post", "/auth/password"),
            ("patch", "/campuses/{campus}"),
        ]
    ),
)
def test_no_body_makes_a_500(fuzz_school, body, route):
    method, path = route
    api, ids = fuzz_school
    response = getattr(api, method)(path.format(**ids), body)
    # Wrong old passwords are rate-limited (429) like login.
    allowed = ALLOWED | {429} if path == "/auth/password" else ALLOWED
    assert response.status_code in allowed, (route, body, response.json)


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
        "kind",
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
            "/admins",
            "/notifications",
            "/students/{student}/guardians",
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


# ------------------------------------------------------------------ the roster import: any file


roster_cells = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["2015-03-07", "2015/3/7", "2015年3月7日", "42070", "2015-02-30", "一班，二班", "总校区", "S001"]),
)
roster_header = st.lists(st.sampled_from(["姓名", "学号", "校区", "班级", "生日", "班级1", "", "备注"]), max_size=6)
roster_rows = st.lists(st.lists(roster_cells, max_size=6), max_size=6)


def _csv_text(header, rows):
    lines = [header, *rows]
    return "\n".join(",".join("" if cell is None else str(cell) for cell in line) for line in lines)


roster_files = st.one_of(
    st.binary(max_size=400).map(lambda data: (data, "名单.csv")),
    st.binary(max_size=400).map(lambda data: (b"PK\x03\x04" + data, "名单.xlsx")),
    st.builds(_csv_text, roster_header, roster_rows).flatmap(
        lambda text: st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]).map(
            lambda encoding: (text.encode(encoding, errors="replace"), "名单.csv")
        )
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(upload=roster_files, dry_run=st.sampled_from(["", "?dry_run=true", "?dry_run=false"]))
def test_no_roster_file_makes_a_500(fuzz_school, upload, dry_run):
    api, _ids = fuzz_school
    data, filename = upload
    response = api.client.post(
        f"{api.prefix}/students/import{dry_run}",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=api._headers(None),
    )
    assert response.status_code in {200, 413, 422}, (data[:80], response.json)
    if response.status_code == 200:
        assert response.json["written"] == (not response.json["errors"] and dry_run != "?dry_run=true")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(header=roster_header, rows=roster_rows)
def test_no_workbook_content_makes_a_500(fuzz_school, header, rows):
    api, _ids = fuzz_school
    data = xlsx([[_cell(cell) for cell in row] for row in rows], header=header or ["姓名"])
    response = api.client.post(
        f"{api.prefix}/students/import?dry_run=true",
        data={"file": (io.BytesIO(data), "名单.xlsx")},
        content_type="multipart/form-data",
        headers=api._headers(None),
    )
    assert response.status_code in {200, 422}, (header, rows, response.json)


def _cell(value):
    """Text openpyxl can store in a cell (it refuses control characters)."""
    return CONTROL.sub("", value) if isinstance(value, str) else value
