"""The roster import as the school office uses it: a spreadsheet in, students, classes and points
accounts out, all or nothing, the same file twice changing nothing."""

import io
import time
from datetime import date, datetime

import pytest
from openapi_schema_validator import OAS30Validator
from sqlalchemy import func, select

from school_points.models import AuditLog, PointsAccount, SchoolClass, Student
from school_points.office.roster_rows import DATE_HINT
from school_points.platform.extensions import db
from tests.admin.admin_testkit import AdminApi, db_state
from tests.conftest import run_concurrently
from tests.roster_files import csv_bytes, plain_zip, xlsx, zip_bomb


def upload(api, data, filename="名单.xlsx", *, dry_run=None, headers=None):
    query = "" if dry_run is None else f"?dry_run={'true' if dry_run else 'false'}"
    return api.client.post(
        f"{api.prefix}/students/import{query}",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=api._headers(headers),
    )


def students():
    db.session.expire_all()
    return db.session.scalars(select(Student).order_by(Student.id)).all()


def count(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def class_names(student):
    return sorted(klass.name for klass in student.classes)


def test_a_workbook_becomes_students_with_classes_and_points_accounts(api, campus):
    data = xlsx(
        [
            ["张小雨", "S001", "总校区", "钢琴一班", "2015-03-07"],
            ["李小红", "S002", "总校区", "钢琴一班,美术班", date(2016, 5, 1)],
            ["王小明", None, None, None, None],
        ]
    )
    response = upload(api, data)
    assert response.status_code == 200, response.json
    assert response.json == {
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "classes_created": 2,
        "dry_run": False,
        "written": True,
        "errors": [],
    }
    a, b, c = students()
    assert (a.name, a.student_no, a.birthday, class_names(a)) == ("张小雨", "S001", date(2015, 3, 7), ["钢琴一班"])
    assert (b.birthday, class_names(b)) == (date(2016, 5, 1), ["美术班", "钢琴一班"])
    assert (c.student_no, c.birthday, c.classes, c.campus_id) == (None, None, [], campus.id)
    assert len({a.bind_code, b.bind_code, c.bind_code}) == 3 and all(len(s.bind_code) == 8 for s in (a, b, c))
    assert count(PointsAccount) == 3
    assert count(SchoolClass) == 2


def test_a_title_row_merged_header_cells_and_blank_trailing_rows(api, campus):
    # Title merged over A1:F1; 班级 merged over D2:E2 with a class in each column; 校区 merged down.
    header = ["姓名", "学号", "校区", "班级", None, "生日"]
    rows = [
        ["张小雨", "S001", "总校区", "钢琴一班", "美术班", "2015-03-07"],
        ["李小红", "S002", None, "钢琴一班", None, "2016-05-01"],
    ]
    data = xlsx(rows, header=header, title="2026 年春季学员名单", merges=["D2:E2", "C3:C4"], blank_after=30)
    response = upload(api, data)
    assert response.status_code == 200, response.json
    assert (response.json["rows"], response.json["created"], response.json["errors"]) == (2, 2, [])
    a, b = students()
    assert class_names(a) == ["美术班", "钢琴一班"] and class_names(b) == ["钢琴一班"]
    assert a.campus_id == b.campus_id == campus.id


def test_dates_as_text_excel_numbers_and_cells(api, campus):
    rows = [
        ["甲", "S1", None, None, "2015/3/7"],
        ["乙", "S2", None, None, "2015年3月7日"],
        ["丙", "S3", None, None, 42070],  # an Excel date number: 2015-03-07
        ["丁", "S4", None, None, datetime(2015, 3, 7)],
        ["戊", "S5", None, None, "20150307"],
        ["己", "S6", None, None, "2015.03.07"],
    ]
    response = upload(api, xlsx(rows))
    assert response.json["errors"] == []
    assert {s.birthday for s in students()} == {date(2015, 3, 7)}


def test_full_width_commas_and_enumeration_commas_separate_classes(api, campus):
    response = upload(api, xlsx([["张小雨", None, None, "钢琴一班，美术班、 书法班 ,", None]]))
    assert response.json["errors"] == []
    assert class_names(students()[0]) == ["书法班", "美术班", "钢琴一班"]


def test_csv_in_gbk_and_in_utf8_with_bom(api, campus):
    rows = [["张小雨", "S001", "总校区", "钢琴一班，美术班", "2015/3/7"]]
    assert upload(api, csv_bytes(rows, encoding="gbk"), "名单.csv").json["created"] == 1
    again = upload(api, csv_bytes(rows, encoding="utf-8-sig"), "名单.csv")
    assert (again.json["created"], again.json["unchanged"]) == (0, 1)
    plain = upload(api, csv_bytes(rows, encoding="utf-8"), "名单.csv")
    assert plain.json["unchanged"] == 1
    (student,) = students()
    assert (student.name, class_names(student)) == ("张小雨", ["美术班", "钢琴一班"])


def test_importing_the_same_file_twice_changes_nothing_the_second_time(api, campus, make_campus):
    make_campus("东校区")
    data = xlsx(
        [
            ["张小雨", "S001", "总校区", "钢琴一班", "2015-03-07"],
            ["李小红", None, "东校区", "美术班，书法班", "2016-05-01"],
            ["王小明", None, "东校区", None, None],
        ]
    )
    assert upload(api, data).json["created"] == 3
    before = [(s.id, s.name, s.student_no, s.birthday, class_names(s)) for s in students()]
    second = upload(api, data).json
    assert (second["created"], second["updated"], second["unchanged"], second["classes_created"]) == (0, 0, 3, 0)
    assert [(s.id, s.name, s.student_no, s.birthday, class_names(s)) for s in students()] == before
    assert count(SchoolClass) == 3


def test_a_row_matches_by_student_no_and_updates_name_birthday_and_classes(api, campus, make_class, make_student):
    old = make_class("一班")
    student = make_student(name="张晓雨", classes=[old])
    api.patch(f"/students/{student.id}", {"student_no": "S001"})
    response = upload(api, xlsx([["张小雨", "S001", "总校区", "二班", "2015-03-07"]]))
    assert (response.json["updated"], response.json["created"]) == (1, 0)
    (row,) = students()
    assert (row.id, row.name, row.birthday, class_names(row)) == (student.id, "张小雨", date(2015, 3, 7), ["二班"])


def test_without_student_no_a_row_matches_by_name_campus_and_birthday(api, campus, make_student, make_campus):
    other = make_campus("东校区")
    same = make_student(name="张小雨", birthday=date(2015, 3, 7))
    make_student(name="张小雨", birthday=date(2015, 3, 7), campus_id=other.id)  # another campus: not her
    make_student(name="张小雨", birthday=date(2014, 1, 1))  # another birthday: not her
    response = upload(api, xlsx([["张小雨", "S001", "总校区", None, "2015-03-07"]]))
    assert (response.json["updated"], response.json["created"]) == (1, 0), response.json
    db.session.expire_all()
    assert db.session.get(Student, same.id).student_no == "S001"  # she now has the school's number
    assert count(Student) == 3
    assert upload(api, xlsx([["张小雨", None, "总校区", None, "2015-03-07"]])).json["unchanged"] == 1


def test_two_existing_students_with_the_same_name_campus_and_birthday_need_a_student_no(api, campus, make_student):
    make_student(name="张小雨", birthday=date(2015, 3, 7))
    make_student(name="张小雨", birthday=date(2015, 3, 7))
    response = upload(api, xlsx([["张小雨", None, None, None, "2015-03-07"]]))
    assert response.json["errors"] == [
        {"row": 2, "field": "姓名", "message": "有 2 名学员的姓名、校区、生日都与此行相同：请填写学号以区分"}
    ]


def test_any_row_error_writes_nothing_and_lists_every_error(api, campus, make_class):
    make_class("钢琴一班")
    data = xlsx(
        [
            ["张小雨", "S001", "总校区", "钢琴一班", "2015-03-07"],
            [None, "S002", "总校区", None, None],
            ["李小红", "S003", "火星校区", "新班", "2015-13-01"],
            ["王小明", "S001", None, "又一个新班", "三月七日"],
            ["赵小刚", None, None, "新班", None],
        ]
    )
    before = (db_state(), count(Student), count(SchoolClass))
    response = upload(api, data)
    assert response.status_code == 200
    assert response.json["written"] is False
    assert response.json["errors"] == [
        {"row": 3, "field": "姓名", "message": "缺少姓名"},
        {"row": 4, "field": "校区", "message": "校区“火星校区”不存在（请先在校区管理中新建）"},
        {"row": 4, "field": "生日", "message": "生日不是一个真实存在的日期"},
        {"row": 5, "field": "学号", "message": "学号“S001”与第 2 行重复"},
        {"row": 5, "field": "生日", "message": DATE_HINT},
    ]
    assert (db_state(), count(Student), count(SchoolClass)) == before


def test_two_new_rows_that_a_reimport_could_not_tell_apart_are_refused(api, campus):
    data = xlsx([["张小雨", None, None, None, "2015-03-07"], ["张小雨", None, None, None, "2015-03-07"]])
    assert upload(api, data).json["errors"][0]["row"] == 3
    both_numbered = xlsx([["张小雨", "S1", None, None, "2015-03-07"], ["张小雨", "S2", None, None, "2015-03-07"]])
    assert upload(api, both_numbered).json["created"] == 2


def test_a_school_with_several_campuses_needs_the_campus_column(api, campus, make_campus):
    make_campus("东校区")
    response = upload(api, xlsx([["张小雨"]], header=["姓名"]))
    assert response.json["errors"] == [{"row": 2, "field": "校区", "message": "缺少校区（学校有多个校区，必须填写）"}]


def test_a_dry_run_reports_and_writes_nothing(api, campus):
    data = xlsx([["张小雨", "S001", None, "钢琴一班", "2015-03-07"]])
    before = (db_state(), count(Student), count(SchoolClass), count(AuditLog))
    response = upload(api, data, dry_run=True)
    assert (response.json["created"], response.json["classes_created"]) == (1, 1)
    assert (response.json["dry_run"], response.json["written"]) == (True, False)
    assert (db_state(), count(Student), count(SchoolClass), count(AuditLog)) == before


def test_one_audit_entry_per_import_without_the_childrens_names(api, campus):
    upload(api, xlsx([["张小雨", "S001", None, "钢琴一班", "2015-03-07"], ["李小红", None, None, None, None]]))
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.import")).all()
    assert len(entries) == 1
    changes = entries[0].changes
    assert (changes["rows"], changes["created"], changes["format"]) == (2, 2, "xlsx")
    assert len(changes["created_ids"]) == 2
    assert "张小雨" not in str(changes) and "S001" not in str(changes)


def test_idempotency_key_replays_the_first_import(api, campus):
    data = xlsx([["张小雨", "S001", None, None, None]])
    first = upload(api, data, headers={"Idempotency-Key": "import-1"})
    replay = upload(api, data, headers={"Idempotency-Key": "import-1"})  # a new multipart boundary
    assert replay.json == first.json and replay.headers.get("Idempotent-Replayed") == "true"
    assert count(Student) == 1
    other = upload(api, xlsx([["李小红"]], header=["姓名"]), headers={"Idempotency-Key": "import-1"})
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    dry = upload(api, data, dry_run=True, headers={"Idempotency-Key": "import-1"})
    assert dry.status_code == 422  # the query string is part of the request


def test_a_campus_admin_imports_into_their_own_campus_only(campus_api, api, campus, other_campus):
    theirs = api.post("/students", {"name": "外校学员", "campus_id": other_campus.id, "student_no": "X9"}).json
    rows = [
        ["张小雨", "S001", None, None, None],
        ["李小红", "S002", "分校区", None, None],
        ["王小明", "X9", None, None, None],
    ]
    response = upload(campus_api, xlsx(rows))
    assert response.json["errors"] == [
        {"row": 3, "field": "校区", "message": "校区“分校区”不存在或不在你的管理范围内（只能导入本校区的学员）"},
        {"row": 4, "field": "学号", "message": "学号“X9”已被其他校区的学员使用"},
    ]
    assert count(Student) == 1
    response = upload(campus_api, xlsx(rows[:1]))
    assert response.json["created"] == 1
    created = [s for s in students() if s.id != theirs["id"]]
    assert [s.campus_id for s in created] == [campus.id]
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.import")).one()
    assert audit.campus_id == campus.id


def test_an_import_never_moves_a_student_to_another_campus(api, campus, other_campus):
    api.post("/students", {"name": "张小雨", "campus_id": campus.id, "student_no": "S001"})
    response = upload(api, xlsx([["张小雨", "S001", "分校区", None, None]]))
    assert response.json["errors"][0]["field"] == "校区"
    assert students()[0].campus_id == campus.id


def test_more_than_5000_rows_are_refused(api, campus):
    rows = [[f"学员{i}", None, None, None, None] for i in range(5001)]
    response = upload(api, csv_bytes(rows), "名单.csv")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "too_many_rows"
    assert "5000" in response.json["error"]["message"]
    assert count(Student) == 0


HOSTILE = [
    ("zip bomb", lambda: zip_bomb(), "名单.xlsx", "压缩炸弹"),
    ("zip but not a workbook", plain_zip, "名单.xlsx", "不是 Excel 工作簿"),
    ("not a zip, named .xlsx", lambda: b"just some text, no zip at all", "名单.xlsx", "不是有效的 .xlsx"),
    ("truncated workbook", lambda: xlsx([["张小雨"]])[:400], "名单.xlsx", "不是有效的 .xlsx"),
    ("encrypted workbook", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "名单.xlsx", "加密"),
    ("NUL bytes", lambda: "姓名\n张小雨\x00\n".encode(), "名单.csv", "空字符"),
    ("undecodable bytes", lambda: "姓名\n".encode() + b"\xff\xfe\xfa\x80\x81", "名单.csv", "编码"),
    ("empty file", lambda: b"", "名单.csv", "空的"),
    ("only a header", lambda: csv_bytes([]), "名单.csv", "只有表头"),
    ("no header", lambda: csv_bytes([["张小雨"]], header=["名称"]), "名单.csv", "找不到表头"),
    ("an image", lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "名单.png", "不是表格"),
]


@pytest.mark.parametrize(("label", "make", "filename", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_and_broken_files_get_a_quick_422_in_chinese(api, campus, label, make, filename, words):
    data = make()
    started = time.perf_counter()
    response = upload(api, data, filename)
    elapsed = time.perf_counter() - started
    assert response.status_code == 422, (label, response.json)
    assert words in response.json["error"]["message"], response.json
    assert response.json["error"]["details"]
    assert elapsed < 3, elapsed
    assert count(Student) == 0


def test_a_file_over_5_mb_is_refused_with_413(api, campus):
    response = upload(api, b"a" * (5 * 1024 * 1024 + 1), "名单.csv")
    assert response.status_code == 413 and response.json["error"]["code"] == "file_too_large"


def test_a_request_without_a_file_is_a_422(api):
    response = api.client.post(
        f"{api.prefix}/students/import", data={}, content_type="multipart/form-data", headers=api._headers(None)
    )
    assert response.status_code == 422 and "file" in response.json["error"]["details"]
    assert upload(api, b"x", dry_run=None).status_code == 422
    assert api.client.post(f"{api.prefix}/students/import?dry_run=yes", headers=api._headers(None)).status_code == 422


def test_the_import_needs_an_admin(fresh_api):
    assert upload(fresh_api, csv_bytes([["张小雨"]], header=["姓名"]), "a.csv").status_code == 401


# ------------------------------------------------------------------ student_no on the student routes


def test_student_no_on_create_and_patch_and_a_duplicate_is_409(api, campus):
    created = api.post("/students", {"name": "张小雨", "campus_id": campus.id, "student_no": "S001"})
    assert created.status_code == 201 and created.json["student_no"] == "S001"
    twin = api.post("/students", {"name": "李小红", "campus_id": campus.id, "student_no": "S001"})
    assert twin.status_code == 409 and twin.json["error"]["code"] == "student_no_taken"
    other = api.post("/students", {"name": "李小红", "campus_id": campus.id}).json
    clash = api.patch(f"/students/{other['id']}", {"student_no": "S001"})
    assert clash.status_code == 409 and clash.json["error"]["message"] == "学号已被其他学员使用"
    assert api.patch(f"/students/{other['id']}", {"student_no": "S002"}).json["student_no"] == "S002"
    assert api.patch(f"/students/{created.json['id']}", {"student_no": None}).json["student_no"] is None
    assert api.patch(f"/students/{other['id']}", {"student_no": "S 1"}).status_code == 422
    assert api.patch(f"/students/{other['id']}", {"student_no": "x" * 33}).status_code == 422
    assert api.get(f"/students/{other['id']}").json["student_no"] == "S002"


def test_the_route_is_in_the_openapi_document_as_a_multipart_upload(client, api, campus):
    spec = client.get("/api/admin/openapi.json").json
    operation = spec["paths"]["/api/admin/v1/students/import"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert schema["properties"]["file"]["format"] == "binary" and schema["required"] == ["file"]
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
    assert {"200", "401", "409", "413", "422", "503"} <= set(operation["responses"])
    out = operation["responses"]["200"]["content"]["application/json"]["schema"]
    validator = OAS30Validator({**out, "components": spec["components"]})
    validator.validate(upload(api, xlsx([["张小雨", "S1", None, None, "2015-3-7"]])).json)
    validator.validate(upload(api, xlsx([["", "S1", None, None, "2015-3-7"]])).json)


def test_two_imports_of_one_file_at_once_create_each_student_once(app, api, campus, is_pg):
    if not is_pg:
        pytest.skip("concurrency runs on PostgreSQL (SQLite runs one writer at a time)")
    data = xlsx([[f"学员{i}", None, None, "一班", "2015-03-07"] for i in range(30)])

    def send(_):
        return upload(AdminApi(app.test_client(), api.token), data).json

    first, second = run_concurrently(app, send, [1, 2])
    assert sorted([first["created"], second["created"]]) == [0, 30]
    assert sorted([first["unchanged"], second["unchanged"]]) == [0, 30]
    assert count(Student) == 30 and count(SchoolClass) == 1 and count(PointsAccount) == 30
