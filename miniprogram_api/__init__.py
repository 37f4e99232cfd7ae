"""HTTP adapter for the mini-program (SPEC §7.1)."""
from flask import Blueprint

bp = Blueprint("miniprogram_api", __name__)
