"""HTTP adapter for the official account's callback (SPEC §6.1)."""
from flask import Blueprint

bp = Blueprint("wechat_bot", __name__)

from . import callback  # noqa: E402,F401 - registers the routes on bp
