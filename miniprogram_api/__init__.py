"""HTTP adapter for the mini-program (docs/MINIPROGRAM_API.md): `bp` at /api/v1, `docs_bp` (OpenAPI + docs) at /api."""

from flask import Blueprint

from school_points.platform.errors import NotFound
from webkit.fields import MAX_ID as MAX_PATH_ID

bp = Blueprint("miniprogram_api", __name__)


@bp.url_value_preprocessor
def _ids_in_range(endpoint, values):
    """An id no row can have answers 404 before it reaches the database (PostgreSQL int4)."""
    for value in (values or {}).values():
        if isinstance(value, int) and not 1 <= value <= MAX_PATH_ID:
            raise NotFound()


from . import (  # noqa: E402,F401  (routes)
    account,
    growth,
    mall,
    ping,
    points,
    teacher,
    uploads,
)
from .kit import DOCUMENT  # noqa: E402

docs_bp = DOCUMENT.blueprint("miniprogram_docs")
