"""A trivial endpoint with exactly one database round trip: the yardstick of the benchmarks."""

from sqlalchemy import text

from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from webkit.responses import respond

from . import bp, schemas
from .kit import api, dump


@bp.get("/ping-db")
@api("数据库往返一次（基准测试的参照）", auth=None, out=schemas.PingOut, tags=["运维"])
def ping_db():
    db.session.execute(text("SELECT 1"))
    return respond(dump(schemas.PingOut, {"status": "ok", "now": utcnow()}))
