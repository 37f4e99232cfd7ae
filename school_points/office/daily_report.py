"""Points issued, spent, refunded and expired per school-local day: the data behind the charts.

The same definitions as the summary report (office.reports), day by day, so the days of a range
add up to the summary of that range: issued = positive deltas of the earning kinds and
adjustments, spent = redemption debits less their refunds, refunded, expired. Every day of the
range is present, zeros included. The sums by day and kind come from office.report_rollup
(per-day totals where valid, the ledger itself for other days).
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from school_points.office.exports import ORDER_STATUS_NAMES, kind_name
from school_points.office.report_rollup import ledger_sums
from school_points.office.reports import ISSUING_KINDS
from school_points.office.tabular_writer import Column, Sheet

MAX_DAYS = 366


def daily(first_day, last_day, *, campus_id=None) -> dict[str, Any]:
    """`{"from", "to", "campus_id", "days": [{"date", "issued": {kind: points}, "spent", "refunded",
    "expired"}]}` for school-local days first_day..last_day (inclusive)."""
    gained: dict[tuple, int] = {}
    lost: dict[tuple, int] = {}
    for key, (plus, minus) in ledger_sums(first_day, last_day, campus_id=campus_id).items():
        gained[key], lost[key] = plus, minus
    days = []
    day = first_day
    while day <= last_day:
        refunded = gained.get((day, "redemption_refund"), 0)
        days.append(
            {
                "date": day.isoformat(),
                "issued": {kind: gained.get((day, kind), 0) for kind in ISSUING_KINDS},
                "spent": lost.get((day, "redemption"), 0) - refunded,
                "refunded": refunded,
                "expired": lost.get((day, "expiry"), 0),
            }
        )
        day += timedelta(days=1)
    return {"from": first_day.isoformat(), "to": last_day.isoformat(), "campus_id": campus_id, "days": days}


def daily_sheet(report) -> Sheet:
    """The daily report as one table: a row a day, a column per issuing kind."""
    columns = (
        Column("日期", "date", 12),
        Column("发放合计", "int", 10),
        *(Column(f"发放：{kind_name(kind)}", "int", 14) for kind in ISSUING_KINDS),
        Column("兑换消耗", "int", 10),
        Column("兑换退回", "int", 10),
        Column("过期", "int", 8),
    )
    rows = (
        (
            _date(day["date"]),
            sum(day["issued"].values()),
            *(day["issued"][kind] for kind in ISSUING_KINDS),
            day["spent"],
            day["refunded"],
            day["expired"],
        )
        for day in report["days"]
    )
    return Sheet("每日积分", columns, rows)


def summary_sheets(report, campus_name) -> list[Sheet]:
    """The summary report (office.reports.summary) as two tables: figures, and orders by status."""
    outstanding = report["outstanding"]
    figures = [
        ("统计区间", f"{report['from']} 至 {report['to']}"),
        ("校区", campus_name),
        ("发放合计", report["issued"]["total"]),
        *((f"发放：{kind_name(kind)}", points) for kind, points in report["issued"]["by_kind"].items()),
        ("兑换消耗", report["spent"]),
        ("兑换退回", report["refunded"]),
        ("过期", report["expired"]),
        ("冲正", report["reversed"]),
        ("手动扣减", report["adjusted_down"]),
        ("未使用积分", outstanding["points"]),
        ("未使用积分折合（元）", Decimal(outstanding["value_yuan"])),
    ]
    orders = [
        (ORDER_STATUS_NAMES.get(status, status), value["count"], value["points"])
        for status, value in report["orders"].items()
    ]
    sheets = [
        Sheet("汇总", (Column("项目", width=24), Column("数值", "auto", 24)), figures),
        Sheet("订单", (Column("状态", width=10), Column("订单数", "int", 10), Column("积分", "int", 10)), orders),
    ]
    if report.get("students_by_level"):  # levels switched on
        levels = [
            (f"Lv{row['level']} {row['name']}", row["min_lifetime"], row["students"])
            for row in report["students_by_level"]
        ]
        columns = (Column("等级", width=16), Column("累计积分门槛", "int", 14), Column("学员数", "int", 10))
        sheets.append(Sheet("等级", columns, levels))
    return sheets


def _date(text):
    return date.fromisoformat(text)
