"""Member levels (会员等级): a student's level from lifetime points and the school's tiers.

A level is never stored: it is read from lifetime points (which only grow) and the tiers in the
settings as they are now, so a settings change re-reads every level without rewriting anything.
With levels switched off, nobody has a level (None) and no goods are locked by one.
"""

from typing import Any

from school_points.school.settings import get_settings

# Entries written beside an award (points/level_rewards.py), and the awards that earn them;
# evaluations, referrals, welcome and birthday points, and adjustments never do.
BONUS_KINDS = ("level_bonus", "birthday_bonus")
BONUSED_KINDS = frozenset({"checkin", "signin", "like", "share"})


def levels_config(settings=None) -> dict[str, Any] | None:
    """The levels section when levels are switched on (tiers sorted by level), else None."""
    config = (settings or get_settings()).get("levels") or {}
    if not config.get("enabled") or not config.get("tiers"):
        return None
    return {**config, "tiers": sorted(config["tiers"], key=lambda tier: int(tier["level"]))}


def tier_for(lifetime, config) -> dict[str, Any]:
    """The highest tier whose min_lifetime <= lifetime (the first tier starts at 0)."""
    reached = config["tiers"][0]
    for tier in config["tiers"]:
        if int(tier["min_lifetime"]) <= lifetime:
            reached = tier
    return reached


def level_number(lifetime, config=None) -> int | None:
    """The student's level number, or None with levels switched off."""
    config = config if config is not None else levels_config()
    return int(tier_for(lifetime, config)["level"]) if config is not None else None


def level_view(lifetime, config=None) -> dict[str, Any] | None:
    """`{level, name, next: {level, name, min_lifetime, points_to_go} | None}`, or None when off."""
    config = config if config is not None else levels_config()
    if config is None:
        return None
    tier = tier_for(lifetime, config)
    higher = [t for t in config["tiers"] if int(t["level"]) > int(tier["level"])]
    following = None
    if higher:
        up = higher[0]
        following = {
            "level": int(up["level"]),
            "name": str(up["name"]),
            "min_lifetime": int(up["min_lifetime"]),
            "points_to_go": max(0, int(up["min_lifetime"]) - lifetime),
        }
    return {"level": int(tier["level"]), "name": str(tier["name"]), "next": following}


def bonus_percent(level, config) -> int:
    """The earning bonus of a level in percent (`earn_bonus_pct`, 0 when not listed)."""
    pct = (config.get("earn_bonus_pct") or {}).get(str(level), 0)
    return max(0, int(pct or 0))


def level_text(view) -> str:
    """How a level reads in a message: `Lv2 小树，距离下一等级还差 120 分` (or `已是最高等级`)."""
    head = f"Lv{view['level']} {view['name']}"
    if view["next"] is None:
        return f"{head}（已是最高等级）"
    return f"{head}，距离下一等级还差 {view['next']['points_to_go']} 分"
