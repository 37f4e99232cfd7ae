"""HTTP adapter for school staff: the admin JSON API (docs/ADMIN_API.md): `bp` at /api/admin/v1,
`docs_bp` (its OpenAPI document and docs page) at /api/admin."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

# The view modules attach their routes to `bp`; imported after it exists.
from . import auth, family, mall, people, reporting, school, sheets  # noqa: E402,F401

# isort: split
# Accounts, families' links, the outbox and the school's structure (docs/ADMIN_API.md).
from . import accounts, families, outbox, structure  # noqa: E402,F401
from . import roster_import as _roster_import  # noqa: E402,F401
from .kit import DOCUMENT  # noqa: E402

docs_bp = DOCUMENT.blueprint("admin_docs")

# The office's downloads, daily report and goods-image uploads (docs/EXPORTS.md).
from . import exports  # noqa: E402,F401
