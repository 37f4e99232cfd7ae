"""Settings, campuses and classes."""
from flask import g

from school_points.models import Campus, SchoolClass
from school_points.people import classes
from school_points.school import campuses
from school_points.school.settings import deep_merge, get_settings
from school_points.school.settings_changes import change_settings
from webkit.idempotency import idempotent
from webkit.responses import respond

from . import bp
from .helpers import body, listing, query
from .schemas import CampusFilter, CampusIn, CampusOut, ClassIn, ClassOut, SettingsIn


@bp.get("/settings")
def get_school_settings():
    return respond(get_settings())


@bp.patch("/settings")
def patch_school_settings():
    patch = body(SettingsIn())
    SettingsIn().load(deep_merge(get_settings(), patch))  # the merged document must hold as a whole
    return respond(change_settings(patch, scope=g.scope, actor=g.actor))


@bp.get("/campuses")
def list_campuses():
    return listing(campuses.list_campuses_query(g.scope), Campus.id, CampusOut())


@bp.post("/campuses")
@idempotent
def create_campus():
    data = body(CampusIn())
    campus = campuses.create_campus(data["name"], scope=g.scope, actor=g.actor)
    return respond(CampusOut().dump(campus), 201)


@bp.get("/classes")
def list_classes():
    filters = query(CampusFilter())
    return listing(classes.list_classes_query(g.scope, **filters), SchoolClass.id, ClassOut())


@bp.get("/classes/<int:class_id>")
def get_class(class_id):
    return respond(ClassOut().dump(classes.get_class(class_id, g.scope)))


@bp.post("/classes")
@idempotent
def create_class():
    klass = classes.create_class(body(ClassIn()), scope=g.scope, actor=g.actor)
    return respond(ClassOut().dump(klass), 201)


@bp.patch("/classes/<int:class_id>")
def update_class(class_id):
    klass = classes.update_class(class_id, body(ClassIn(), partial=True), scope=g.scope, actor=g.actor)
    return respond(ClassOut().dump(klass))
