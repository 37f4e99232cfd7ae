"""Changing the school's structure: renaming a campus, deleting a class."""

from flask import Response, g

from school_points.people import classes
from school_points.platform.extensions import db
from school_points.school import campuses
from staffkit.schemas import CampusOut
from staffkit.staff_schemas import CampusPatch
from webkit.api import dump, load_body
from webkit.responses import respond

from . import bp
from .kit import api


@bp.patch("/campuses/<int:campus_id>")
@api(
    "修改校区名称（总管理员）",
    body=CampusPatch,
    out=CampusOut,
    tags=["校区与班级"],
    errors={403: ["super_admin_required"], 404: ["campus_not_found"], 409: ["campus_name_taken"]},
)
def rename_campus(campus_id):
    data = load_body(CampusPatch, partial=True)
    return respond(dump(CampusOut, campuses.update_campus(campus_id, data, scope=g.scope, actor=g.actor)))


@bp.delete("/classes/<int:class_id>")
@api(
    "删除班级：学员留在学校、积分不变，班级的学员与老师关系一并删除",
    status=204,
    tags=["校区与班级"],
    errors={404: ["class_not_found"]},
    description="积分流水不引用班级，保持不变。记入操作日志（class.delete，含删除前的成员）。",
)
def delete_class(class_id):
    classes.delete_class(class_id, scope=g.scope, actor=g.actor)
    db.session.commit()
    return Response(status=204)
