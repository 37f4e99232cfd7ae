"""HTTP adapter for school staff: the admin JSON API (docs/ADMIN_API.md)."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

# The view modules attach their routes to `bp`; imported after it exists.
from . import auth, mall, people, reporting, school  # noqa: E402,F401
