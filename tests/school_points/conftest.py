"""Fixtures for the domain services: rule changes, a teacher with a class, outcomes as codes."""

from datetime import UTC, datetime

import pytest

from school_points.platform import clock
from school_points.platform.extensions import db
from school_points.school.settings import update_settings


@pytest.fixture
def rules(app):
    """Change the school's settings (a PATCH-like merge) and commit."""

    def change(patch):
        update_settings(patch)
        db.session.commit()

    return change


@pytest.fixture
def teacher_with_class(make_teacher, make_class, make_student):
    """A teacher and a class of `size` students at the default campus."""

    def make(size=3, balance=0):
        teacher = make_teacher()
        students = [make_student(name=f"学生{i}", balance=balance) for i in range(size)]
        make_class(teachers=[teacher], students=students)
        return teacher, students

    return make


@pytest.fixture
def frozen_now(monkeypatch):
    """Pin 'now' (clock.utcnow) to an ISO instant; day boundaries follow the school timezone."""

    def freeze(iso):
        instant = datetime.fromisoformat(iso).astimezone(UTC)
        monkeypatch.setattr(clock, "utcnow", lambda: instant)
        return instant

    return freeze
