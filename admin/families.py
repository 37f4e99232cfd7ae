"""A student's guardians: who is bound and how each can be reached; unbinding one."""

from flask import Response, g

from school_points.people import guardianships
from school_points.platform.extensions import db
from staffkit.staff_schemas import GUARDIAN_LIST, GuardianOut
from webkit.api import dump
from webkit.responses import respond

from . import bp
from .kit import api


@bp.get("/students/<int:student_id>/guardians")
@api(
    "学员的家长：称呼、绑定时间、能否通过公众号/小程序联系",
    out=GUARDIAN_LIST,
    tags=["学员"],
    errors={404: ["student_not_found"]},
)
def list_guardians(student_id):
    return respond(dump(GuardianOut, guardianships.guardians_of(student_id, g.scope), many=True))


@bp.delete("/students/<int:student_id>/guardians/<int:user_id>")
@api(
    "解除家长与学员的绑定",
    status=204,
    tags=["学员"],
    errors={404: ["student_not_found", "guardian_not_found"]},
    description="家长之后可用绑定码重新绑定。记入操作日志（guardian.unbind）。",
)
def unbind_guardian(student_id, user_id):
    guardianships.unbind_guardian(student_id, user_id, scope=g.scope, actor=g.actor)
    db.session.commit()
    return Response(status=204)
