"""Binding parents to students with the bind code; the default student."""

import pytest

from school_points.models import Guardian, Student
from school_points.people import guardians
from school_points.platform.errors import NotFound
from school_points.platform.extensions import db
from tests.school_points.domain_helpers import outcome


def bind(user, student, relation="妈妈"):
    guardian = guardians.bind_student(user, student.bind_code.lower(), relation)
    db.session.commit()
    return guardian


def test_binding_with_the_code_makes_a_guardian_and_the_default_student(make_user, make_student):
    user, student = make_user(), make_student()
    guardian = bind(user, student)
    assert (guardian.user_id, guardian.student_id, guardian.relation) == (user.id, student.id, "妈妈")
    assert user.default_student_id == student.id
    assert guardians.students_of(user) == [student]


def test_binding_twice_returns_the_first_binding(make_user, make_student):
    user, student = make_user(), make_student()
    assert bind(user, student).id == bind(user, student, "爸爸").id
    assert db.session.query(Guardian).count() == 1


def test_unknown_or_archived_codes_are_not_found(make_user, make_student):
    user, student = make_user(), make_student()
    with pytest.raises(NotFound) as error:
        guardians.bind_student(user, "NOPE2345")
    assert error.value.code == "bind_code_not_found"
    db.session.get(Student, student.id).status = "archived"
    db.session.commit()
    assert outcome(guardians.bind_student, user, student.bind_code) == "bind_code_not_found"
    assert outcome(guardians.bind_student, user, None) == "bind_code_not_found"


def test_a_relation_that_is_too_long_is_refused(make_user, make_student):
    user, student = make_user(), make_student()
    assert outcome(guardians.bind_student, user, student.bind_code, "x" * 17) == "validation_error"


def test_a_second_student_does_not_replace_the_default(make_user, make_student):
    user, first, second = make_user(), make_student(name="大宝"), make_student(name="二宝")
    bind(user, first)
    bind(user, second)
    assert guardians.default_student(user).id == first.id
    guardians.set_default_student(user, second.id)
    db.session.commit()
    assert guardians.default_student(user).id == second.id


def test_unbinding_the_default_moves_it_to_another_student(make_user, make_student):
    user, first, second = make_user(), make_student(name="大宝"), make_student(name="二宝")
    bind(user, first)
    bind(user, second)
    guardians.unbind_student(user, first.id)
    db.session.commit()
    assert user.default_student_id == second.id
    guardians.unbind_student(user, second.id)
    db.session.commit()
    assert user.default_student_id is None and guardians.default_student(user) is None
    assert outcome(guardians.unbind_student, user, second.id) == "not_found"


def test_another_familys_student_looks_absent(make_user, make_student):
    parent, stranger, student = make_user(), make_user(), make_student()
    bind(parent, student)
    assert guardians.guardian_student(parent, student.id).id == student.id
    assert outcome(guardians.guardian_student, stranger, student.id) == "not_found"
    assert outcome(guardians.set_default_student, stranger, student.id) == "not_found"
    assert outcome(guardians.guardian_student, parent, "1") == "not_found"
