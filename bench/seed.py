"""Seed data for bench_api.py: families with points, goods, a teacher with a class of 40, ledger bulk loads."""

import os

from sqlalchemy import func, select, text

from school_points.accounts import ledger
from school_points.models import (
    Campus,
    Goods,
    Guardian,
    PointsAccount,
    Redemption,
    SchoolClass,
    Student,
    Teacher,
    WechatUser,
)
from school_points.people import tokens
from school_points.platform.codes import new_code
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM
from school_points.school.settings import update_settings


def make_app():
    from wsgi import create_app

    app = create_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def _family(campus_id, name, balance):
    student = Student(name=name, campus_id=campus_id, bind_code=new_code(10))
    user = WechatUser(mp_openid=f"bench-{new_code(12)}", referral_code=new_code(10))
    db.session.add_all([student, user])
    db.session.flush()
    db.session.add(Guardian(user_id=user.id, student_id=student.id, relation="妈妈"))
    user.default_student_id = student.id
    account = ledger.lock(student.id)
    if balance:
        ledger.credit(account, balance, "adjustment", key=f"bench-seed:{student.id}", actor=SYSTEM)
    return student, user


# BENCH_LEVELS=1: member levels switched on, and the redeemed goods gated at level 1 (everyone
# passes), so every redemption runs the level check (bench/README.md, "Member levels").
LEVELS = os.environ.get("BENCH_LEVELS") == "1"


def seed(app, *, clients):
    """Create everything the benchmarks need; returns ids and tokens."""
    with app.app_context():
        update_settings({"evaluation": {"teacher_daily_budget": 10**9}})
        if LEVELS:
            update_settings({"levels": {"enabled": True}})
        campus = Campus(name="总校区")
        db.session.add(campus)
        db.session.flush()
        families = [_family(campus.id, f"学生{i}", 10**6) for i in range(clients)]
        bulk = Goods(name="铅笔", points=1, stock=10**7, stock_received=10**7, verify_code="8888")
        flash = Goods(name="限量礼物", points=1, stock=100, stock_received=100, verify_code="8888")
        own = [Goods(name=f"文具{i}", points=1, stock=10**6, stock_received=10**6) for i in range(clients)]
        if LEVELS:
            for goods in (bulk, flash, *own):
                goods.min_level = 1
        db.session.add_all([bulk, flash, *own])
        small, big = _family(campus.id, "小历史", 0), _family(campus.id, "大历史", 0)
        pupils = [_family(campus.id, f"班级学生{i}", 0) for i in range(40)]
        teacher_user = WechatUser(mp_openid="bench-teacher", referral_code=new_code(10))
        db.session.add(teacher_user)
        db.session.flush()
        teacher = Teacher(name="李老师", campus_id=campus.id, user_id=teacher_user.id)
        db.session.add(teacher)
        db.session.flush()
        db.session.add(
            SchoolClass(name="四十人班", campus_id=campus.id, teachers=[teacher], students=[s for s, _ in pupils])
        )
        db.session.commit()

        def pair(family):
            return family[0].id, tokens.issue("user", family[1].id)[0]

        return {
            "families": [pair(f) for f in families],
            "bulk_goods": bulk.id,
            "flash_goods": flash.id,
            "own_goods": [g.id for g in own],
            "history_small": pair(small),
            "history_big": pair(big),
            "teacher": (tokens.issue("user", teacher_user.id)[0], [s.id for s, _ in pupils]),
        }


def bulk_ledger(app, student_id, rows):
    """Append `rows` +1 adjustment entries for a student in one statement, keeping the account in step."""
    with app.app_context():
        base = db.session.get(PointsAccount, student_id).balance
        db.session.execute(
            text(
                "INSERT INTO ledger_entry (student_id, delta, balance_after, kind, actor_type, note, idempotency_key,"
                " local_day, created_at) "
                "SELECT :sid, 1, :base + g, 'adjustment', 'system', '基准测试批量流水', 'bench:' || :sid || ':' || g,"
                " CURRENT_DATE, now() FROM generate_series(1, :rows) AS g"
            ),
            {"sid": student_id, "base": base, "rows": rows},
        )
        db.session.execute(
            text(
                "UPDATE points_account SET balance = balance + :rows, lifetime = lifetime + :rows"
                " WHERE student_id = :sid"
            ),
            {"sid": student_id, "rows": rows},
        )
        db.session.commit()
        db.session.execute(text("ANALYZE ledger_entry"))
        db.session.commit()


def oversell_report(app, fixture):
    """One line: every goods' stock against its orders, and no negative balance."""
    with app.app_context():
        parts = [_stock_line(fixture["bulk_goods"]), _stock_line(fixture["flash_goods"])]
        own = [_stock_line(goods_id) for goods_id in fixture["own_goods"]]
        bad = [line for line in own if "consistent)" not in line or "INCONSISTENT" in line]
        parts.append(
            f"{len(own)} goods of one client each: {len(own) - len(bad)} consistent"
            + (f", {len(bad)} NOT: {bad[:3]}" if bad else "")
        )
        negative = db.session.scalar(select(func.count()).select_from(PointsAccount).where(PointsAccount.balance < 0))
        parts.append(f"negative balances: {negative}")
        return "; ".join(parts)


def _stock_line(goods_id):
    goods = db.session.get(Goods, goods_id)
    sold = db.session.scalar(
        select(func.coalesce(func.sum(Redemption.quantity), 0)).where(
            Redemption.goods_id == goods_id, Redemption.status != "cancelled"
        )
    )
    ok = goods.stock >= 0 and goods.stock == goods.stock_received - sold
    return (
        f"{goods.name}: received {goods.stock_received}, sold {sold}, stock {goods.stock} "
        f"({'consistent' if ok else 'OVERSOLD/INCONSISTENT'})"
    )
