"""HTTP adapter for the official account's callback (SPEC §6.1)."""
from flask import Blueprint

bp = Blueprint("wechat_bot", __name__)
