"""What the office downloads: the ledger, the orders and the roster as tables (office.tabular_writer
writes them as xlsx or CSV), and the audit entry every download leaves.

Rows are read in id order, a batch at a time (keyset: `WHERE id > :last ORDER BY id LIMIT n`),
as plain column tuples (no ORM objects, so no identity map grows), and each batch's class and
actor names are looked up in one query per batch. A million-row export therefore holds one batch
in memory at a time, on PostgreSQL and SQLite alike, and never keeps a server-side cursor open
between batches. New entries written while an export runs have higher ids and may appear at its
end; nothing is read twice or skipped.
"""

from collections.abc import Iterator
from datetime import date

from sqlalchemy import and_, func, select

from school_points.models import Admin, Campus, LedgerEntry, PointsAccount, Redemption, SchoolClass, Student, Teacher
from school_points.models.org import class_student
from school_points.office.tabular_writer import Column, Sheet
from school_points.platform.clock import as_aware, day_end, day_start, school_tz
from school_points.platform.extensions import db
from school_points.school import audit

BATCH_ROWS = 2000
# Cached class and actor names; emptied past this many so a huge export's memory stays flat.
_NAME_CACHE_MAX = 20_000
CLASS_SEPARATOR = "，"  # what the roster import accepts between class names (with ",")

KIND_NAMES = {
    "evaluation": "课堂评价",
    "checkin": "成长打卡",
    "like": "点赞",
    "share": "分享",
    "referral": "推荐奖励",
    "welcome": "新生欢迎",
    "signin": "每日签到",
    "birthday": "生日奖励",
    "adjustment": "手动调整",
    "redemption": "兑换商品",
    "redemption_refund": "兑换退回",
    "reversal": "冲正",
    "expiry": "积分过期",
    "level_bonus": "等级加成",
    "birthday_bonus": "生日加倍",
}
ORDER_STATUS_NAMES = {"pending": "待发放", "issued": "已发放", "cancelled": "已取消"}
ISSUE_METHOD_NAMES = {"pickup_code": "扫取货码", "verify_code": "输入核销码", "admin": "管理员发放"}
STUDENT_STATUS_NAMES = {"active": "在读", "archived": "已归档", "erased": "已删除"}


def kind_name(kind) -> str:
    """A ledger kind in Chinese (the code itself for a kind this table does not know yet)."""
    return KIND_NAMES.get(kind, kind)


def record_export(actor, what, *, campus_id=None, **details) -> None:
    """Audit a download: who, what, which range and filters; never a row of its content."""
    audit.record(
        actor,
        "export",
        target_type=what,
        campus_id=campus_id,
        changes={key: _plain(value) for key, value in details.items() if value is not None},
    )


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


# ------------------------------------------------------------------ the ledger

LEDGER_COLUMNS = (
    Column("流水号", "int", 10),
    Column("时间", "datetime", 20),
    Column("学员", width=12),
    Column("学号", width=12),
    Column("校区", width=12),
    Column("班级", width=18),
    Column("类型", width=10),
    Column("积分变动", "int", 10),
    Column("变动后余额", "int", 11),
    Column("备注", width=30),
    Column("操作人", width=16),
)


def ledger_sheet(first_day, last_day, *, campus_id=None) -> Sheet:
    """Every ledger entry of the school-local days first_day..last_day, oldest first."""
    return Sheet("积分流水", LEDGER_COLUMNS, ledger_rows(first_day, last_day, campus_id=campus_id))


def ledger_rows(first_day, last_day, *, campus_id=None) -> Iterator[tuple]:
    """The ledger's rows in LEDGER_COLUMNS order, read a batch at a time."""
    query = (
        select(
            LedgerEntry.id,
            LedgerEntry.created_at,
            LedgerEntry.student_id,
            Student.name,
            Student.student_no,
            Campus.name,
            LedgerEntry.kind,
            LedgerEntry.delta,
            LedgerEntry.balance_after,
            LedgerEntry.note,
            LedgerEntry.actor_type,
            LedgerEntry.actor_id,
        )
        .join(Student, Student.id == LedgerEntry.student_id)
        .join(Campus, Campus.id == Student.campus_id)
        .where(LedgerEntry.local_day >= first_day, LedgerEntry.local_day <= last_day)
    )
    if campus_id is not None:
        query = query.where(Student.campus_id == campus_id)
    names, tz = _Names(), school_tz()
    for rows in _batches(query, LedgerEntry.id, BATCH_ROWS):
        classes = names.classes({row[2] for row in rows})
        actors = names.actors({(row[10], row[11]) for row in rows})
        for entry_id, created, student_id, name, number, campus, kind, delta, after, note, a_type, a_id in rows:
            yield (
                entry_id,
                _local(created, tz),
                name,
                number,
                campus,
                classes.get(student_id, ""),
                kind_name(kind),
                delta,
                after,
                note,
                actors.get((a_type, a_id), ""),
            )


# ------------------------------------------------------------------ orders

ORDER_COLUMNS = (
    Column("订单号", "int", 10),
    Column("下单时间", "datetime", 20),
    Column("学员", width=12),
    Column("学号", width=12),
    Column("校区", width=12),
    Column("商品", width=18),
    Column("数量", "int", 8),
    Column("单价（积分）", "int", 12),
    Column("合计积分", "int", 10),
    Column("状态", width=10),
    Column("发放时间", "datetime", 20),
    Column("发放方式", width=12),
    Column("发放人", width=16),
    Column("取消时间", "datetime", 20),
    Column("取消人", width=16),
    Column("取消原因", width=24),
)


def order_sheet(scope, **filters) -> Sheet:
    """Orders inside the admin's scope, oldest first, with the order list's filters."""
    return Sheet("兑换订单", ORDER_COLUMNS, order_rows(scope, **filters))


def order_rows(
    scope, *, status=None, campus_id=None, student_id=None, goods_id=None, first_day=None, last_day=None
) -> Iterator[tuple]:
    """Orders' rows in ORDER_COLUMNS order; `first_day`/`last_day` bound the school-local order day."""
    query = (
        select(
            Redemption.id,
            Redemption.created_at,
            Student.name,
            Student.student_no,
            Campus.name,
            Redemption.goods_name,
            Redemption.quantity,
            Redemption.points_each,
            Redemption.total_points,
            Redemption.status,
            Redemption.issued_at,
            Redemption.issue_method,
            Redemption.issued_by_type,
            Redemption.issued_by_id,
            Redemption.cancelled_at,
            Redemption.cancelled_by_type,
            Redemption.cancelled_by_id,
            Redemption.cancel_reason,
        )
        .join(Student, Student.id == Redemption.student_id)
        .join(Campus, Campus.id == Redemption.campus_id)
    )
    query = scope.filter(query, Redemption.campus_id, campus_id)
    for column, value in (
        (Redemption.status, status),
        (Redemption.student_id, student_id),
        (Redemption.goods_id, goods_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if first_day is not None:
        query = query.where(Redemption.created_at >= day_start(first_day))
    if last_day is not None:
        query = query.where(Redemption.created_at < day_end(last_day))
    names, tz = _Names(), school_tz()
    for rows in _batches(query, Redemption.id, BATCH_ROWS):
        actors = names.actors({(row[12], row[13]) for row in rows} | {(row[15], row[16]) for row in rows})
        for row in rows:
            yield (
                row[0],
                _local(row[1], tz),
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                row[8],
                ORDER_STATUS_NAMES.get(row[9], row[9]),
                _local(row[10], tz),
                ISSUE_METHOD_NAMES.get(row[11], row[11]),
                actors.get((row[12], row[13]), ""),
                _local(row[14], tz),
                actors.get((row[15], row[16]), ""),
                row[17],
            )


# ------------------------------------------------------------------ the roster

# The first five are the roster import's columns, so an exported roster can be edited and
# imported back.
ROSTER_COLUMNS = (
    Column("姓名", width=12),
    Column("学号", width=12),
    Column("校区", width=12),
    Column("班级", width=18),
    Column("生日", "date", 12),
    Column("状态", width=8),
    Column("积分余额", "int", 10),
    Column("累计积分", "int", 10),
    Column("建档时间", "datetime", 20),
    Column("学员编号", "int", 10),
)
BIND_CODE_COLUMN = Column("绑定码", width=14)


def roster_sheet(scope, *, campus_id=None, class_id=None, status=None, include_bind_codes=False) -> Sheet:
    """Students inside the scope (filtered), by id; bind codes as a last column only when asked."""
    columns = ROSTER_COLUMNS + ((BIND_CODE_COLUMN,) if include_bind_codes else ())
    rows = roster_rows(
        scope, campus_id=campus_id, class_id=class_id, status=status, include_bind_codes=include_bind_codes
    )
    return Sheet("学员名单", columns, rows)


def roster_rows(scope, *, campus_id=None, class_id=None, status=None, include_bind_codes=False) -> Iterator[tuple]:
    """The roster's rows in ROSTER_COLUMNS order (+ bind code)."""
    query = (
        select(
            Student.id,
            Student.name,
            Student.student_no,
            Campus.name,
            Student.birthday,
            Student.status,
            func.coalesce(PointsAccount.balance, 0),
            func.coalesce(PointsAccount.lifetime, 0),
            Student.created_at,
            Student.bind_code,
        )
        .join(Campus, Campus.id == Student.campus_id)
        .outerjoin(PointsAccount, PointsAccount.student_id == Student.id)
    )
    query = scope.filter(query, Student.campus_id, campus_id)
    if class_id is not None:
        member = select(class_student.c.student_id).where(class_student.c.class_id == class_id)
        query = query.where(Student.id.in_(member))
    if status is not None:
        query = query.where(Student.status == status)
    names, tz = _Names(), school_tz()
    for rows in _batches(query, Student.id, BATCH_ROWS):
        classes = names.classes({row[0] for row in rows})
        for sid, name, number, campus, birthday, state, balance, lifetime, created, bind_code in rows:
            row = (
                name,
                number,
                campus,
                classes.get(sid, ""),
                birthday,
                STUDENT_STATUS_NAMES.get(state, state),
                int(balance),
                int(lifetime),
                _local(created, tz),
                sid,
            )
            yield row + (bind_code,) if include_bind_codes else row


# ------------------------------------------------------------------ shared pieces


def _batches(query, id_column, size) -> Iterator[list]:
    """The query's rows in ascending id, `size` at a time (the id must be the first column)."""
    last_id = 0
    while True:
        rows = db.session.execute(query.where(id_column > last_id).order_by(id_column).limit(size)).all()
        if rows:
            yield rows
        if len(rows) < size:
            return
        last_id = rows[-1][0]


def _local(instant, tz):
    """An instant as the school-local wall time Excel shows (naive: Excel has no timezones)."""
    if instant is None:
        return None
    return as_aware(instant).astimezone(tz).replace(tzinfo=None, microsecond=0)


class _Names:
    """Class and actor names for a batch of rows, one query each, remembered across batches."""

    def __init__(self) -> None:
        self._classes: dict[int, str] = {}
        self._actors: dict[tuple, str] = {}

    def classes(self, student_ids) -> dict[int, str]:
        missing = [sid for sid in student_ids if sid not in self._classes]
        if missing:
            _bound(self._classes)
            found: dict[int, list[str]] = {}
            query = (
                select(class_student.c.student_id, SchoolClass.name)
                .join(SchoolClass, SchoolClass.id == class_student.c.class_id)
                .where(class_student.c.student_id.in_(missing))
                .order_by(class_student.c.student_id, SchoolClass.id)
            )
            for sid, name in db.session.execute(query):
                found.setdefault(sid, []).append(name)
            for sid in missing:
                self._classes[sid] = CLASS_SEPARATOR.join(found.get(sid, ()))
        return self._classes

    def actors(self, keys) -> dict[tuple, str]:
        missing = {key for key in keys if key not in self._actors}
        if missing:
            _bound(self._actors)
            admins = _names_by_id(Admin.username, Admin.id, {i for t, i in missing if t == "admin"})
            teachers = _names_by_id(Teacher.name, Teacher.id, {i for t, i in missing if t == "teacher"})
            for kind, row_id in missing:
                self._actors[(kind, row_id)] = _actor_name(kind, row_id, admins, teachers)
        return self._actors


def _bound(cache):
    if len(cache) > _NAME_CACHE_MAX:
        cache.clear()


def _names_by_id(name_column, id_column, ids) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(id_column, name_column).where(and_(id_column.in_(ids)))).all())


def _actor_name(kind, row_id, admins, teachers) -> str:
    # A family is named by its WeChat user id only: a nickname is a family's personal data and
    # says nothing to the office that the student column does not.
    if kind is None:
        return ""
    if kind == "system":
        return "系统"
    if kind == "admin":
        return f"管理员 {admins.get(row_id, f'#{row_id}')}"
    if kind == "teacher":
        return f"老师 {teachers.get(row_id, f'#{row_id}')}"
    if kind == "user":
        return f"家长（用户 #{row_id}）"
    return f"{kind} #{row_id}"
