"""HTTP adapter for school staff: the admin JSON API (SPEC §7.2)."""
from flask import Blueprint

bp = Blueprint("admin", __name__)
