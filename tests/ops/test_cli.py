"""The operator's commands (README.md), run as `flask --app wsgi ...` would run them."""

from sqlalchemy import select, update

from school_points.models import Admin, Campus, Goods, PointsAccount, Student
from school_points.platform.extensions import db


def test_points_check_is_clean_on_a_consistent_ledger(app, make_student, make_goods):
    make_student(balance=120)
    make_goods(stock=5)
    result = app.test_cli_runner().invoke(args=["points", "check"])
    assert result.exit_code == 0, result.output
    assert "agree" in result.output


def test_points_check_reports_a_tampered_balance_and_exits_non_zero(app, make_student):
    student = make_student(balance=50)
    db.session.execute(update(PointsAccount).where(PointsAccount.student_id == student.id).values(balance=70))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["points", "check"])
    assert result.exit_code == 1
    assert f"student {student.id}: balance 70 but ledger sums to 50" in result.output


def test_points_check_reports_stock_that_orders_do_not_explain(app, make_goods):
    goods = make_goods(stock=10)
    db.session.execute(update(Goods).where(Goods.id == goods.id).values(stock=9))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["points", "check"])
    assert result.exit_code == 1
    assert f"goods {goods.id}: stock 9" in result.output


def test_admin_create_stores_a_hashed_password(app, make_campus):
    campus = make_campus("滨江校区")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["admin", "create", "boss", "--password", "s3cret-pass"]).exit_code == 0
    result = runner.invoke(args=["admin", "create", "desk", "--password", "s3cret-pass", "--campus", str(campus.id)])
    assert result.exit_code == 0, result.output
    admins = {a.username: a for a in db.session.scalars(select(Admin))}
    assert admins["boss"].role == "super" and admins["desk"].role == "campus"
    assert admins["desk"].campus_id == campus.id
    assert "s3cret-pass" not in admins["boss"].password_hash


def test_admin_create_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(args=["admin", "create", "boss", "--password", "123"])
    assert result.exit_code != 0
    assert db.session.scalars(select(Admin)).first() is None


def test_seed_demo_builds_a_school_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin / admin12345" in first.output
    assert db.session.query(Campus).count() == 2
    students = db.session.query(Student).count()
    second = runner.invoke(args=["seed-demo"])
    assert "nothing added" in second.output
    assert db.session.query(Student).count() == students
    assert runner.invoke(args=["points", "check"]).exit_code == 0


def test_seed_demo_refuses_to_run_in_production_and_writes_nothing(app, monkeypatch):
    from sqlalchemy import func

    monkeypatch.setitem(app.config, "APP_ENV", "production")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 1
    assert "APP_ENV=production" in result.output and "admin12345" not in result.output
    db.session.expire_all()
    for model in (Admin, Campus, Student, Goods):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def test_the_wechat_commands_are_registered_on_the_app(app):
    """`flask --app wsgi wechat menu` is an operator command like the others (README.md), not an
    optional one that may be missing."""
    result = app.test_cli_runner().invoke(args=["wechat", "--help"])
    assert result.exit_code == 0, result.output
    assert "menu" in result.output
