"""Who did something: written into ledger entries, orders and the audit log."""

from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class Actor:
    """An acting party: admin, teacher, user (a WeChat user), or system (jobs)."""

    type: str
    id: int | None = None

    @classmethod
    def system(cls) -> Self:
        return cls("system", None)

    @classmethod
    def admin(cls, admin_id) -> Self:
        return cls("admin", admin_id)

    @classmethod
    def teacher(cls, teacher_id) -> Self:
        return cls("teacher", teacher_id)

    @classmethod
    def user(cls, user_id) -> Self:
        return cls("user", user_id)


SYSTEM = Actor.system()
