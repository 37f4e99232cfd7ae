"""HTTP adapter for the official account's callback (docs/WECHAT.md)."""

from flask import Blueprint

bp = Blueprint("wechat_bot", __name__)

from . import callback  # noqa: E402,F401 - registers the routes on bp
