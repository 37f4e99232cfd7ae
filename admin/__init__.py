"""HTTP adapter for school staff: the admin JSON API (docs/ADMIN_API.md): `bp` at /api/admin/v1,
`docs_bp` (its OpenAPI document and docs page) at /api/admin."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

# The view modules attach their routes to `bp`; imported after it exists.
from . import auth, mall, people, reporting, school  # noqa: E402,F401
from .kit import DOCUMENT  # noqa: E402

docs_bp = DOCUMENT.blueprint("admin_docs")

# The office's downloads, daily report and goods-image uploads (docs/EXPORTS.md).
from . import exports  # noqa: E402,F401
