"""What levels and birthdays add to earning (docs/PRODUCT.md, "Levels"): bonus entries beside an
award, and the `level_up` notice when earning carries a student into a higher level.

- `credit_award` writes a check-in, sign-in, like or share award, then, in the same transaction
  and under the same account lock, a `level_bonus` entry (floor(award × the level's percent /
  100), by the level the student had *before* this award) and, with `double_on_birthday` on the
  student's birthday (school timezone), a `birthday_bonus` entry equal to the award. Each bonus's
  key is the award's key with the bonus kind in front (that is what ties it to its award: a
  replay is refused by the award's key, a reversal and `points check` find the bonuses by it) and
  its ref is the award's own (what caused it). Written in the award's flush, without a round trip
  of their own. Caps count the award's own kind only, so bonuses never count against them.
- `note_level_up` runs after any entry that grew lifetime points (every earning path, bonuses or
  not): when the tiers as they are now put the student on a higher level after the entries than
  before them, and the account has not yet been told of that level, it raises the account's
  `level_notified` (under the row lock) and records one `level_up` notice for the level reached.
  Two tiers crossed at once give one notice, for the higher. A settings change writes no entry,
  so it never notifies.
"""

import calendar
from dataclasses import dataclass
from datetime import date

from school_points.accounts import ledger
from school_points.accounts.levels import (
    BONUS_KINDS,
    BONUSED_KINDS,
    bonus_percent,
    level_number,
    levels_config,
    tier_for,
)
from school_points.models import LedgerEntry, Student
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.school.settings import get_settings
from school_points.wechat.notifications import notify_student


@dataclass(frozen=True)
class Award:
    """The award's entry and the points credited with it (award + bonuses)."""

    entry: LedgerEntry
    total: int


def bonus_key(kind, award_key) -> str:
    """The idempotency key of a bonus entry beside the award written under `award_key`."""
    return f"{kind}:{award_key}"[:200]


def credit_award(account, points, kind, *, key, ref, actor, note, student=None) -> Award:
    """Credit an award and its bonuses to a locked account; notify a level reached."""
    if kind not in BONUSED_KINDS:
        raise ValueError(f"{kind!r} awards earn no bonus")
    lifetime_before = account.lifetime
    settings = get_settings()
    entry = ledger.credit(account, points, kind, key=key, ref=ref, actor=actor, note=note)
    total = points
    config = levels_config(settings)
    level_bonus = points * bonus_percent(level_number(lifetime_before, config), config) // 100 if config else 0
    birthday_bonus = points if settings["birthday"].get("double_on_birthday") and _birthday(account, student) else 0
    if level_bonus > 0 or birthday_bonus > 0:
        if level_bonus > 0:
            name = tier_for(lifetime_before, config)["name"]
            ledger.credit(
                account,
                level_bonus,
                "level_bonus",
                key=bonus_key("level_bonus", key),
                ref=ref,
                actor=actor,
                note=f"{name}等级加成",
            )
        if birthday_bonus > 0:
            ledger.credit(
                account,
                birthday_bonus,
                "birthday_bonus",
                key=bonus_key("birthday_bonus", key),
                ref=ref,
                actor=actor,
                note="生日积分翻倍",
            )
        total += level_bonus + birthday_bonus
    note_level_up(account, lifetime_before)
    return Award(entry, total)


def note_level_up(account, lifetime_before) -> bool:
    """Record the `level_up` notice when lifetime grew past a tier since `lifetime_before`; once per
    student and level, however many transactions race (they queue on the account's lock)."""
    config = levels_config()
    if config is None or account.lifetime <= lifetime_before:
        return False
    reached = tier_for(account.lifetime, config)
    level = int(reached["level"])
    if level <= level_number(lifetime_before, config) or not ledger.mark_level_reached(account, level):
        return False
    notify_student(
        "level_up",
        account.student_id,
        {"level": str(reached["name"]), "points": account.lifetime, "remark": f"升级为 Lv{level} {reached['name']}"},
        key=f"level_up:s{account.student_id}:l{level}",
    )
    return True


def award_total(award_key) -> int:
    """Points an award written under `award_key` and its bonuses credited (0 when none was)."""
    keys = [award_key, *(bonus_key(kind, award_key) for kind in BONUS_KINDS)]
    return int(
        db.session.scalar(
            db.select(db.func.coalesce(db.func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.idempotency_key.in_(keys))
        )
    )


def bonus_entries(award_key) -> list[LedgerEntry]:
    """The bonus entries written beside an award, level bonus first."""
    keys = [bonus_key(kind, award_key) for kind in BONUS_KINDS]
    found = {
        e.idempotency_key: e
        for e in db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.idempotency_key.in_(keys)))
    }
    return [found[k] for k in keys if k in found]


def is_birthday(birthday, today=None) -> bool:
    """Whether `today` (school-local) is the birthday; 29 February counts on 28 February of a common year."""
    if birthday is None:
        return False
    today = today or local_today()
    if (birthday.month, birthday.day) == (today.month, today.day):
        return True
    return (
        (birthday.month, birthday.day) == (2, 29)
        and (today.month, today.day) == (2, 28)
        and not calendar.isleap(today.year)
    )


def _birthday(account, student):
    if student is None:
        student = db.session.get(Student, account.student_id)
    birthday = student.birthday if student is not None else None
    return is_birthday(birthday if isinstance(birthday, date) else None)
