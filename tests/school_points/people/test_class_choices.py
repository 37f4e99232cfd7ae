"""The classes' drop-down: ids and names inside the admin's scope, without their members."""

import pytest

from school_points.people import classes
from school_points.platform.errors import NotFound
from school_points.school.scoping import Scope


def test_choices_are_the_scope_s_classes_by_id(make_campus, make_class, make_student):
    east, west = make_campus("东校区"), make_campus("西校区")
    first = make_class("钢琴一班", campus_id=east.id, students=[make_student(campus_id=east.id)])
    other = make_class("美术一班", campus_id=west.id)
    second = make_class("钢琴二班", campus_id=east.id)
    assert classes.class_choices(Scope()) == [(first.id, "钢琴一班"), (other.id, "美术一班"), (second.id, "钢琴二班")]
    assert classes.class_choices(Scope(east.id)) == [(first.id, "钢琴一班"), (second.id, "钢琴二班")]
    assert classes.class_choices(Scope(), campus_id=west.id) == [(other.id, "美术一班")]


def test_a_campus_admin_cannot_ask_for_another_campus(make_campus, make_class):
    east, west = make_campus("东校区"), make_campus("西校区")
    make_class("美术一班", campus_id=west.id)
    with pytest.raises(NotFound):
        classes.class_choices(Scope(east.id), campus_id=west.id)
