"""Admins changing the school's settings (docs/PRODUCT.md): super admins only, audit logged."""

from typing import Any

from school_points.models import SchoolSetting
from school_points.platform.clock import utcnow
from school_points.platform.db_setup import insert_or_skip
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.scoping import require_super
from school_points.school.settings import update_settings


def change_settings(patch, *, scope, actor) -> dict[str, Any]:
    """Merge an already validated patch into the settings; audit the sections that changed."""
    require_super(scope, "只有总管理员可以修改学校设置")
    _ensure_row()
    old, new = update_settings(patch)
    changed = sorted(key for key in new if old.get(key) != new.get(key))
    audit.record(
        actor,
        "settings.update",
        "settings",
        1,
        changes={
            "old": {key: old.get(key) for key in changed},
            "new": {key: new[key] for key in changed},
        },
    )
    return new


def _ensure_row():
    """Create the settings row if missing, so two first PATCHes both lock it instead of both inserting."""
    db.session.execute(insert_or_skip(SchoolSetting.__table__, ["id"]).values(id=1, data={}, updated_at=utcnow()))
