"""`flask admin create USERNAME` without --password asks for it twice, hidden, and holds it to the
same rules as the admin API."""

from sqlalchemy import select
from werkzeug.security import check_password_hash

from school_points.models import Admin
from school_points.platform.extensions import db


def create(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["admin", "create", *args], input=input)


def admins():
    db.session.expire_all()
    return {a.username: a for a in db.session.scalars(select(Admin))}


def test_without_password_it_prompts_twice_and_never_echoes(app):
    result = create(app, "boss", input="long-enough-pw\nlong-enough-pw\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert "long-enough-pw" not in result.output
    assert check_password_hash(admins()["boss"].password_hash, "long-enough-pw")


def test_a_mistyped_confirmation_asks_again(app):
    result = create(app, "boss", input="long-enough-pw\nlong-enough-px\nsecond-try-pw1\nsecond-try-pw1\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert check_password_hash(admins()["boss"].password_hash, "second-try-pw1")


def test_a_campus_admin_from_the_prompt(app, campus):
    result = create(app, "desk", "--campus", str(campus.id), input="desk-password\ndesk-password\n")
    assert result.exit_code == 0, result.output
    assert (admins()["desk"].role, admins()["desk"].campus_id) == ("campus", campus.id)


def test_a_short_or_username_password_is_refused_with_a_clear_message(app):
    short = create(app, "boss", input="short\nshort\n")
    assert short.exit_code == 1 and "密码至少 10 个字符" in short.output
    same = create(app, "boss-account", input="Boss-Account\nBoss-Account\n")
    assert same.exit_code == 1 and "密码不能与用户名相同" in same.output
    assert "Traceback" not in short.output + same.output
    assert admins() == {}


def test_no_input_at_all_aborts_without_creating_anything(app):
    result = create(app, "boss", input="")
    assert result.exit_code != 0
    assert admins() == {}


def test_a_taken_username_or_an_unknown_campus_is_a_clear_error(app):
    assert create(app, "boss", "--password", "long-enough-pw").exit_code == 0
    taken = create(app, "boss", "--password", "long-enough-pw")
    assert taken.exit_code == 1 and "用户名已存在" in taken.output
    for campus_id in ("99999", str(2**40), "-1"):
        unknown = create(app, "desk", "--campus", campus_id, "--password", "long-enough-pw")
        assert unknown.exit_code == 1 and "校区不存在" in unknown.output
    assert set(admins()) == {"boss"}
