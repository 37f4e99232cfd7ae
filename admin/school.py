"""Settings, campuses and classes."""

from flask import g

from school_points.models import Campus, SchoolClass
from school_points.people import classes
from school_points.school import campuses
from school_points.school.settings import deep_merge, get_settings
from school_points.school.settings_changes import change_settings
from staffkit.schemas import (
    OBJECT,
    CampusFilter,
    CampusIn,
    CampusOut,
    CampusPage,
    ClassIn,
    ClassOut,
    ClassPage,
    ClassPatch,
    SettingsIn,
)
from webkit.api import dump, load, load_body
from webkit.fields import PageQuery
from webkit.responses import respond

from . import bp
from .kit import api, filters, listing

SUPER = ["super_admin_required"]


@bp.get("/settings")
@api("全校设置", out=OBJECT, tags=["设置"], description="设置文档见 docs/ADMIN_API.md#settings。")
def get_school_settings():
    return respond(get_settings())


@bp.patch("/settings")
@api(
    "修改全校设置（总管理员）：任意部分，返回新的完整设置",
    body=SettingsIn,
    out=OBJECT,
    tags=["设置"],
    errors={403: SUPER},
)
def patch_school_settings():
    patch = load_body(SettingsIn)
    load(SettingsIn, deep_merge(get_settings(), patch))  # the merged document must hold as a whole
    return respond(change_settings(patch, scope=g.scope, actor=g.actor))


@bp.get("/campuses")
@api("校区列表", query=PageQuery, out=CampusPage, tags=["校区与班级"])
def list_campuses():
    filters(PageQuery)
    return listing(campuses.list_campuses_query(g.scope), Campus.id, CampusOut())


@bp.post("/campuses")
@api(
    "新建校区（总管理员）",
    body=CampusIn,
    out=CampusOut,
    status=201,
    idempotent=True,
    tags=["校区与班级"],
    errors={403: SUPER, 409: ["campus_name_taken"]},
)
def create_campus():
    data = load_body(CampusIn)
    campus = campuses.create_campus(data["name"], scope=g.scope, actor=g.actor)
    return respond(dump(CampusOut, campus), 201)


@bp.get("/classes")
@api("班级列表", query=CampusFilter, out=ClassPage, tags=["校区与班级"], errors={404: ["campus_not_found"]})
def list_classes():
    return listing(classes.list_classes_query(g.scope, **filters(CampusFilter)), SchoolClass.id, ClassOut())


@bp.get("/classes/<int:class_id>")
@api("班级详情", out=ClassOut, tags=["校区与班级"], errors={404: ["class_not_found"]})
def get_class(class_id):
    return respond(dump(ClassOut, classes.get_class(class_id, g.scope)))


@bp.post("/classes")
@api("新建班级", body=ClassIn, out=ClassOut, status=201, idempotent=True, tags=["校区与班级"])
def create_class():
    klass = classes.create_class(load_body(ClassIn), scope=g.scope, actor=g.actor)
    return respond(dump(ClassOut, klass), 201)


@bp.patch("/classes/<int:class_id>")
@api("修改班级", body=ClassPatch, out=ClassOut, tags=["校区与班级"], errors={404: ["class_not_found"]})
def update_class(class_id):
    klass = classes.update_class(class_id, load_body(ClassPatch, partial=True), scope=g.scope, actor=g.actor)
    return respond(dump(ClassOut, klass))
