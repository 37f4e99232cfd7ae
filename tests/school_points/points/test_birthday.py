"""Birthday bonus: once per student per year, on the school-local birthday."""

from datetime import date

from school_points.models import Notification, Student
from school_points.platform.extensions import db
from school_points.points import birthday
from tests.school_points.domain_helpers import account_of, entries


def test_students_get_the_bonus_on_their_birthday_once(make_student, make_guardian):
    born_today = make_student(name="寿星", birthday=date(2015, 6, 1))
    make_guardian(born_today)
    other_day = make_student(name="别人", birthday=date(2015, 6, 2))
    no_birthday = make_student(name="没填")
    assert birthday.award_birthdays(date(2024, 6, 1)) == 1
    assert birthday.award_birthdays(date(2024, 6, 1)) == 0  # the job ran twice
    assert account_of(born_today.id) == (20, 20)
    assert account_of(other_day.id)[0] == account_of(no_birthday.id)[0] == 0
    assert [n.kind for n in db.session.query(Notification)] == ["points_awarded"]


def test_next_year_pays_again(make_student):
    student = make_student(birthday=date(2015, 6, 1))
    birthday.award_birthdays(date(2024, 6, 1))
    birthday.award_birthdays(date(2025, 6, 1))
    assert [e.delta for e in entries(student.id, "birthday")] == [20, 20]


def test_leap_day_birthdays_are_celebrated_on_28_february_of_common_years(make_student):
    student = make_student(birthday=date(2016, 2, 29))
    assert birthday.award_birthdays(date(2023, 2, 28)) == 1
    assert birthday.award_birthdays(date(2024, 2, 28)) == 0
    assert birthday.award_birthdays(date(2024, 2, 29)) == 1
    assert account_of(student.id)[0] == 40


def test_archived_students_and_zero_points_get_nothing(make_student, rules):
    archived = make_student(birthday=date(2015, 6, 1))
    db.session.get(Student, archived.id).status = "archived"
    db.session.commit()
    assert birthday.award_birthdays(date(2024, 6, 1)) == 0
    make_student(name="在读", birthday=date(2015, 6, 1))
    rules({"birthday": {"points": 0}})
    assert birthday.award_birthdays(date(2024, 6, 1)) == 0
