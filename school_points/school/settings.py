"""The school's rules and settings (docs/PRODUCT.md): defaults, stored overrides, merge-patching."""

import copy
from typing import Any

from school_points.models import SchoolSetting
from school_points.platform import uow
from school_points.platform.extensions import db

NOTIFICATION_FIELD_DEFAULTS = {
    "redeemed": {"student": "thing1", "goods": "thing2", "points": "number3", "balance": "number4", "time": "time5"},
    "issued": {"student": "thing1", "goods": "thing2", "status": "phrase3", "time": "time4"},
    "cancelled": {"student": "thing1", "goods": "thing2", "points": "number3", "remark": "thing4"},
    "points_awarded": {
        "student": "thing1",
        "points": "number2",
        "balance": "number3",
        "remark": "thing4",
        "time": "time5",
    },
    "expiring": {"student": "thing1", "points": "number2", "time": "time3", "remark": "thing4"},
    # A student reached a member level (docs/PRODUCT.md, levels): `level` is the level's name,
    # `points` the lifetime points that reached it.
    "level_up": {"student": "thing1", "level": "thing2", "points": "number3", "time": "time4", "remark": "thing5"},
}

DEFAULTS = {
    "point_value_fen": 1,
    "evaluation": {
        "behaviors": [
            {"id": 1, "name": "认真听讲", "points": 2},
            {"id": 2, "name": "积极发言", "points": 2},
            {"id": 3, "name": "完成作业", "points": 3},
            {"id": 4, "name": "进步明显", "points": 5},
        ],
        "max_custom_points": 10,
        "teacher_daily_budget": 300,
    },
    "checkin": {"points": 5, "daily_count": 1},
    "like": {"points": 1, "daily_cap": 20},
    "share": {"points": 0, "daily_cap": 3},
    "referral": {"referrer_points": 100, "welcome_points": 50},
    "signin": {"streak_points": [1, 1, 2, 2, 3, 3, 5]},
    "birthday": {"points": 20, "double_on_birthday": False},
    "expiry": {"policy": "none", "months": 12, "remind_days": 7},
    "mall": {"open": True, "poster_url": "", "notice": ""},
    "notifications": {
        kind: {"enabled": False, "template_id": "", "fields": dict(fields)}
        for kind, fields in NOTIFICATION_FIELD_DEFAULTS.items()
    },
    # Erase students archived longer than this many days (0: never); office/erasure.py.
    "privacy": {"erase_archived_after_days": 0},
    # Member levels from lifetime points (accounts/levels.py; docs/PRODUCT.md).
    "levels": {
        "enabled": False,
        "tiers": [
            {"level": 1, "name": "新芽", "min_lifetime": 0},
            {"level": 2, "name": "小树", "min_lifetime": 500},
            {"level": 3, "name": "大树", "min_lifetime": 2000},
            {"level": 4, "name": "森林", "min_lifetime": 5000},
        ],
        "earn_bonus_pct": {"1": 0, "2": 0, "3": 10, "4": 20},
    },
}


_CACHE_KEY = "school_settings"


def deep_merge(base, patch) -> dict[str, Any]:
    """Merge `patch` into a copy of `base` object by object; lists and scalars are replaced whole."""
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _row(lock=False):
    query = db.select(SchoolSetting).where(SchoolSetting.id == 1)
    if lock:
        query = query.with_for_update()
    return db.session.scalars(query).first()


def get_settings() -> dict[str, Any]:
    """The effective settings document (defaults + stored overrides), read once per transaction
    (the unit of work's transaction cache: a job's or command's next transaction reads them afresh)."""
    cache = uow.transaction_cache(db.session)
    cached = cache.get(_CACHE_KEY)
    if cached is not None:
        return cached
    row = _row()
    settings = deep_merge(DEFAULTS, row.data if row else {})
    uow.transaction_cache(db.session)[_CACHE_KEY] = settings  # after the query, which began the transaction
    return settings


def update_settings(patch) -> tuple[dict[str, Any], dict[str, Any]]:
    """Merge a (validated) patch into the stored settings; returns (old, new) documents."""
    row = _row(lock=True)
    if row is None:
        row = SchoolSetting(id=1, data={})
        db.session.add(row)
    old = deep_merge(DEFAULTS, row.data or {})
    new = deep_merge(old, patch)
    row.data = new
    db.session.flush()
    uow.transaction_cache(db.session)[_CACHE_KEY] = new
    return old, new
