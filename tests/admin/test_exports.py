"""The office's downloads as staff open them: the ledger, orders and roster as xlsx (typed cells)
and CSV (UTF-8 with BOM), within the admin's campus, audited, refused cleanly when asked wrong."""

import csv
import io
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from school_points.accounts import ledger
from school_points.mall.redemption import issue_by_admin
from school_points.models import AuditLog, LedgerEntry, Redemption, Student
from school_points.office import exports
from school_points.platform import clock
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from tests.admin.test_reports import earn, school_with_activity

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_rows(response, title=None):
    """The rows of one sheet of an xlsx response (header first), as openpyxl reads them."""
    assert response.status_code == 200, response.json
    assert response.mimetype == XLSX
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook[title] if title else workbook.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def csv_rows(response):
    """The rows of a CSV response, which must start with a UTF-8 byte-order mark."""
    assert response.status_code == 200, response.json
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def column(rows, title):
    index = rows[0].index(title)
    return [row[index] for row in rows[1:]]


def ledger_sum(campus_id=None):
    query = select(func.coalesce(func.sum(LedgerEntry.delta), 0))
    if campus_id is not None:
        query = query.join(Student, Student.id == LedgerEntry.student_id).where(Student.campus_id == campus_id)
    return db.session.scalar(query)


def today():
    return local_today().isoformat()


@pytest.fixture
def school(make_student, make_goods, make_class, campus, other_campus):
    school_with_activity(make_student, make_goods, campus, other_campus)
    a = db.session.scalar(select(Student).where(Student.name == "甲"))
    a.student_no = "S001"
    make_class("一班", students=[a])
    make_class("舞蹈班", students=[a])
    db.session.commit()
    return a


# ------------------------------------------------------------------ the ledger


def test_ledger_xlsx_has_chinese_headers_typed_cells_and_adds_up(api, school):
    rows = sheet_rows(api.get("/ledger/export", format="xlsx"))
    assert rows[0] == [
        "流水号",
        "时间",
        "学员",
        "学号",
        "校区",
        "班级",
        "类型",
        "积分变动",
        "变动后余额",
        "备注",
        "操作人",
    ]
    assert len(rows) - 1 == db.session.scalar(select(func.count()).select_from(LedgerEntry))
    deltas = column(rows, "积分变动")
    assert all(type(delta) is int for delta in deltas)
    assert sum(deltas) == ledger_sum()
    assert all(isinstance(when, datetime) for when in column(rows, "时间"))
    assert all(type(value) is int for value in column(rows, "流水号") + column(rows, "变动后余额"))
    assert column(rows, "流水号") == sorted(column(rows, "流水号"))
    checkin = next(row for row in rows if row[6] == "成长打卡")
    assert checkin[2:6] == ["甲", "S001", "总校区", "一班，舞蹈班"]
    assert {"手动调整", "课堂评价", "生日奖励", "兑换商品", "兑换退回", "积分过期"} <= set(column(rows, "类型"))


def test_the_time_column_is_the_schools_wall_clock(api, school):
    rows = sheet_rows(api.get("/ledger/export"))
    entry = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.id))
    local = clock.as_aware(entry.created_at).astimezone(clock.school_tz()).replace(tzinfo=None, microsecond=0)
    assert rows[1][1] == local


def test_ledger_csv_opens_as_utf8_with_bom_and_adds_up(api, school):
    rows = csv_rows(api.get("/ledger/export", format="csv"))
    assert rows[0][:3] == ["流水号", "时间", "学员"]
    assert sum(int(delta) for delta in column(rows, "积分变动")) == ledger_sum()
    for when in column(rows, "时间"):
        datetime.strptime(when, "%Y-%m-%d %H:%M:%S")  # a form Excel reads as a date-time
    assert "甲" in column(rows, "学员")


def test_the_file_is_named_with_its_dates_in_chinese_and_in_ascii(api, school):
    day = today()
    response = api.get("/ledger/export", **{"from": day, "to": day, "format": "csv"})
    disposition = response.headers["Content-Disposition"]
    assert f'filename="ledger_{day}_{day}.csv"' in disposition
    assert f"filename*=UTF-8''{quote(f'积分流水_{day}_{day}.csv')}" in disposition
    assert response.headers["Cache-Control"] == "no-store"


def test_entries_outside_the_school_local_range_are_left_out(api, school):
    yesterday = local_today() - timedelta(days=1)
    late_evening = clock.day_end(yesterday) - timedelta(minutes=1)  # 23:59 school time, 15:59 UTC
    with clock.acting_at(late_evening):
        entry = ledger.credit(ledger.lock(school.id), 9, "signin", key="signin:late")
        entry.created_at = late_evening
    db.session.commit()
    only_yesterday = sheet_rows(
        api.get("/ledger/export", **{"from": yesterday.isoformat(), "to": yesterday.isoformat()})
    )
    assert column(only_yesterday, "积分变动") == [9]
    assert column(only_yesterday, "时间")[0].strftime("%H:%M") == "23:59"
    only_today = sheet_rows(api.get("/ledger/export", **{"from": today(), "to": today()}))
    assert 9 not in column(only_today, "积分变动")
    assert sum(column(only_today, "积分变动")) == ledger_sum() - 9


def test_batches_read_every_entry_exactly_once(api, school, monkeypatch):
    monkeypatch.setattr(exports, "BATCH_ROWS", 3)
    ids = column(sheet_rows(api.get("/ledger/export")), "流水号")
    assert ids == list(db.session.scalars(select(LedgerEntry.id).order_by(LedgerEntry.id)))
    assert len(column(csv_rows(api.get("/ledger/export", format="csv")), "流水号")) == len(ids)


def test_a_campus_filter_and_a_campus_admin_see_one_campus(api, campus_api, school, campus, other_campus):
    mine = sheet_rows(api.get("/ledger/export", campus_id=campus.id))
    assert set(column(mine, "校区")) == {"总校区"}
    assert sum(column(mine, "积分变动")) == ledger_sum(campus.id)
    assert sheet_rows(campus_api.get("/ledger/export")) == mine
    other = campus_api.get("/ledger/export", campus_id=other_campus.id)
    assert other.status_code == 404 and other.json["error"]["code"] == "campus_not_found"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"format": "pdf"}, "format"),
        ({"campus_id": "abc"}, "campus_id"),
        ({"limit": "5"}, "limit"),
    ],
)
def test_bad_dates_ranges_and_formats_are_422_in_the_error_shape(api, params, field):
    before = db.session.scalar(select(func.count()).select_from(AuditLog))
    response = api.get("/ledger/export", **params)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["details"]
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before  # nothing recorded


def test_an_export_is_audited_without_personal_data(api, school, campus):
    day = today()
    api.get("/ledger/export", **{"from": day, "to": day, "campus_id": campus.id, "format": "csv"})
    entry = db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))
    assert (entry.action, entry.target_type, entry.campus_id) == ("export", "ledger", campus.id)
    assert entry.changes == {"from": day, "to": day, "format": "csv"}
    assert entry.actor_type == "admin"
    assert "甲" not in str(entry.changes)


def test_exports_need_an_admin_token(fresh_api):
    for path in ("/ledger/export", "/redemptions/export", "/students/export", "/reports/daily"):
        assert fresh_api.get(path).status_code == 401


def test_text_that_looks_like_a_formula_stays_text(api, make_student):
    student = make_student(name="=HYPERLINK(1)")
    ledger.credit(ledger.lock(student.id), 5, "adjustment", key="formula", note="-1+2", actor=Actor.system())
    db.session.commit()
    rows = sheet_rows(api.get("/ledger/export"))
    assert "=HYPERLINK(1)" in column(rows, "学员")
    csv_names = column(csv_rows(api.get("/ledger/export", format="csv")), "学员")
    assert "'=HYPERLINK(1)" in csv_names


# ------------------------------------------------------------------ orders


def test_orders_export_with_statuses_in_chinese_and_points_as_numbers(api, school):
    order = db.session.scalar(select(Redemption).where(Redemption.status == "pending").order_by(Redemption.id))
    issue_by_admin(order, actor=Actor.admin(1))
    db.session.commit()
    rows = sheet_rows(api.get("/redemptions/export"))
    assert rows[0][:9] == ["订单号", "下单时间", "学员", "学号", "校区", "商品", "数量", "单价（积分）", "合计积分"]
    assert sorted(column(rows, "状态")) == sorted(["已发放", "待发放", "已取消"])
    assert sum(column(rows, "合计积分")) == db.session.scalar(select(func.sum(Redemption.total_points)))
    issued = next(row for row in rows if row[9] == "已发放")
    assert isinstance(issued[10], datetime) and issued[11] == "管理员发放"
    cancelled = next(row for row in rows if row[9] == "已取消")
    assert cancelled[15] == "测试" and isinstance(cancelled[13], datetime)
    assert "pickup_code" not in str(rows) and order.pickup_code not in str(rows)


def test_orders_export_takes_the_lists_filters(api, campus_api, school, campus, other_campus):
    pending = csv_rows(api.get("/redemptions/export", status="pending", format="csv"))
    assert set(column(pending, "状态")) == {"待发放"} and len(pending) == 3
    assert set(column(sheet_rows(campus_api.get("/redemptions/export")), "校区")) == {"总校区"}
    assert campus_api.get("/redemptions/export", campus_id=other_campus.id).status_code == 404
    assert len(sheet_rows(api.get("/redemptions/export", student_id=school.id))) == 3
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    assert len(sheet_rows(api.get("/redemptions/export", **{"to": yesterday}))) == 1  # the header
    assert api.get("/redemptions/export", status="lost").status_code == 422


# ------------------------------------------------------------------ the roster


def test_the_roster_matches_the_import_header_and_hides_bind_codes(api, school):
    rows = sheet_rows(api.get("/students/export"))
    assert rows[0][:5] == ["姓名", "学号", "校区", "班级", "生日"]
    assert "绑定码" not in rows[0]
    first = next(row for row in rows if row[0] == "甲")
    assert first[1:4] == ["S001", "总校区", "一班，舞蹈班"]
    assert type(column(rows, "积分余额")[0]) is int
    assert school.bind_code not in str(rows)


def test_bind_codes_only_when_asked_and_that_is_audited(api, school):
    rows = csv_rows(api.get("/students/export", include_bind_codes="true", format="csv"))
    assert rows[0][-1] == "绑定码"
    assert school.bind_code in column(rows, "绑定码")
    entry = db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))
    assert (entry.target_type, entry.changes["include_bind_codes"]) == ("students", True)
    assert school.bind_code not in str(entry.changes)


def test_birthdays_are_dates(api, make_student):
    make_student(name="丙", birthday=datetime(2015, 6, 1).date())
    rows = sheet_rows(api.get("/students/export"))
    assert column(rows, "生日") == [datetime(2015, 6, 1)]  # openpyxl reads every date as a datetime


def test_roster_filters_by_class_and_a_class_of_another_campus_is_404(
    api, campus_api, school, make_class, make_student, other_campus
):
    klass = make_class("一班B", students=[school])
    assert column(sheet_rows(api.get("/students/export", class_id=klass.id)), "姓名") == ["甲"]
    far = make_class("远方班", campus_id=other_campus.id)
    response = campus_api.get("/students/export", class_id=far.id)
    assert response.status_code == 404 and response.json["error"]["code"] == "class_not_found"
    assert set(column(sheet_rows(campus_api.get("/students/export")), "校区")) == {"总校区"}
    assert api.get("/students/export", include_bind_codes="yes").status_code == 422


# ------------------------------------------------------------------ reports


def test_the_summary_as_a_workbook_has_the_jsons_numbers(api, school):
    day = today()
    summary = api.get("/reports/summary", **{"from": day, "to": day}).json
    response = api.get("/reports/summary", **{"from": day, "to": day, "format": "xlsx"})
    figures = dict(sheet_rows(response, "汇总")[1:])
    assert figures["发放合计"] == summary["issued"]["total"]
    assert figures["发放：课堂评价"] == summary["issued"]["by_kind"]["evaluation"]
    assert (figures["兑换消耗"], figures["过期"]) == (summary["spent"], summary["expired"])
    assert figures["未使用积分"] == summary["outstanding"]["points"]
    orders = {row[0]: row[1:] for row in sheet_rows(response, "订单")[1:]}
    assert orders["待发放"] == [summary["orders"]["pending"]["count"], summary["orders"]["pending"]["points"]]
    assert api.get("/reports/summary", format="csv").status_code == 422


def test_the_daily_report_has_every_day_and_adds_up_to_the_summary(api, school, campus):
    yesterday = local_today() - timedelta(days=1)
    with clock.acting_at(clock.day_start(yesterday) + timedelta(hours=1)):
        earn(school, 4, "like")
    first = (local_today() - timedelta(days=6)).isoformat()
    report = api.get("/reports/daily", **{"from": first, "to": today()}).json
    assert [day["date"] for day in report["days"]] == [
        (local_today() - timedelta(days=n)).isoformat() for n in range(6, -1, -1)
    ]
    assert report["days"][0]["issued"]["checkin"] == 0 and report["days"][0]["spent"] == 0
    assert report["days"][-2]["issued"]["like"] == 4
    summary = api.get("/reports/summary", **{"from": first, "to": today()}).json
    for kind, points in summary["issued"]["by_kind"].items():
        assert sum(day["issued"][kind] for day in report["days"]) == points
    for key in ("spent", "refunded", "expired"):
        assert sum(day[key] for day in report["days"]) == summary[key]
    issued_by_ledger = db.session.scalar(
        select(func.sum(LedgerEntry.delta)).where(LedgerEntry.delta > 0, LedgerEntry.kind != "redemption_refund")
    )
    assert sum(sum(day["issued"].values()) for day in report["days"]) == issued_by_ledger
    one_campus = api.get("/reports/daily", campus_id=campus.id).json
    assert sum(day["issued"]["birthday"] for day in one_campus["days"]) == 0  # 乙's birthday was elsewhere
    assert len(one_campus["days"]) == 30


def test_the_daily_report_downloads_as_xlsx_and_csv(api, school):
    rows = sheet_rows(api.get("/reports/daily", format="xlsx"))
    assert rows[0][:2] == ["日期", "发放合计"] and len(rows) == 31
    assert isinstance(rows[-1][0], datetime) and rows[-1][0].date() == local_today()
    report = api.get("/reports/daily").json
    assert rows[-1][1] == sum(report["days"][-1]["issued"].values())
    lines = csv_rows(api.get("/reports/daily", format="csv"))
    assert lines[-1][0] == today() and int(lines[-1][1]) == rows[-1][1]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2025-01-01", "to": "2026-01-02"},  # 367 days
        {"from": "2026-01-02", "to": "2026-01-01"},
        {"from": "yesterday"},
        {"format": "pdf"},
        {"from": "1999-12-31", "to": "2000-01-01"},
    ],
)
def test_the_daily_report_refuses_bad_ranges_with_422(api, params):
    response = api.get("/reports/daily", **params)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"


def test_a_daily_range_of_exactly_366_days_is_fine(api):
    report = api.get("/reports/daily", **{"from": "2024-01-01", "to": "2024-12-31"}).json
    assert len(report["days"]) == 366


def test_a_daily_report_from_a_year_ago_without_to_is_capped(api):
    response = api.get("/reports/daily", **{"from": "2020-01-01"})
    assert response.status_code == 422 and "from" in response.json["error"]["details"]


def test_a_campus_admin_gets_404_for_another_campus_report(campus_api, other_campus):
    assert campus_api.get("/reports/daily", campus_id=other_campus.id).status_code == 404
    assert campus_api.get("/reports/summary", campus_id=other_campus.id, format="xlsx").status_code == 404


# ------------------------------------------------------------------ the OpenAPI document


def test_downloads_are_documented_as_files_with_their_content_types(client, api, school):
    paths = client.get("/api/admin/openapi.json").json["paths"]
    prefix = "/api/admin/v1"
    for path in ("/ledger/export", "/redemptions/export", "/students/export", "/reports/daily"):
        content = paths[prefix + path]["get"]["responses"]["200"]["content"]
        assert content[XLSX]["schema"] == {"type": "string", "format": "binary"}
        assert "text/csv" in content
        assert "422" in paths[prefix + path]["get"]["responses"]
        for file_format, media_type in (("xlsx", XLSX), ("csv", "text/csv")):
            assert api.get(path, format=file_format).mimetype == media_type
    assert XLSX in paths[prefix + "/reports/summary"]["get"]["responses"]["200"]["content"]
    assert "application/json" in paths[prefix + "/reports/daily"]["get"]["responses"]["200"]["content"]
    upload = paths[prefix + "/uploads"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "413", "422", "429"} <= set(upload["responses"])
