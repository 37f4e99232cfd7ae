"""The mall page: open or closed, goods for the student's campus, units already redeemed."""

import pytest

from school_points.mall import catalogue, redemption
from school_points.models import Goods
from school_points.platform.errors import GoodsUnavailable, MallClosed, NotFound
from school_points.platform.extensions import db
from school_points.school.actors import Actor


def test_the_mall_lists_goods_on_shelf_for_the_students_campus(make_student, make_goods, make_campus, rules):
    rules({"mall": {"poster_url": "/uploads/poster.png", "notice": "每周五发放"}})
    student = make_student()
    everywhere = make_goods(name="铅笔")
    here = make_goods(name="本子", campus_id=student.campus_id)
    make_goods(name="别的校区", campus_id=make_campus().id)
    make_goods(name="下架", on_shelf=False)
    gone = make_goods(name="已删除")
    db.session.get(Goods, gone.id).deleted = True
    db.session.get(Goods, here.id).sort = -1
    db.session.commit()
    view = catalogue.mall_view(student)
    assert (view["open"], view["poster_url"], view["notice"]) == (True, "/uploads/poster.png", "每周五发放")
    assert [g["id"] for g in view["goods"]] == [here.id, everywhere.id]
    assert [g["name"] for g in catalogue.mall_view()["goods"]] == ["铅笔"]


def test_units_redeemed_by_the_student_are_shown(make_student, make_goods):
    student, other = make_student(balance=100), make_student(balance=100)
    goods = make_goods(points=10, limit_per_student=3)
    for key, who in (("a", student), ("b", student), ("c", other)):
        redemption.redeem(who.id, goods.id, 1, key=key, actor=Actor.user(1))
    db.session.commit()
    item = catalogue.mall_view(student)["goods"][0]
    assert (item["redeemed_by_student"], item["stock"], item["limit_per_student"]) == (2, 7, 3)


def test_a_closed_mall_lists_nothing(make_student, make_goods, rules):
    student, goods = make_student(), make_goods()
    rules({"mall": {"open": False}})
    assert catalogue.mall_view(student)["goods"] == [] and catalogue.mall_view(student)["open"] is False
    with pytest.raises(MallClosed):
        catalogue.get_goods_for_student(goods.id, student)


def test_goods_detail_refuses_what_the_student_cannot_buy(make_student, make_goods, make_campus):
    student = make_student()
    assert catalogue.get_goods_for_student(make_goods().id, student).name == "铅笔"
    with pytest.raises(GoodsUnavailable):
        catalogue.get_goods_for_student(make_goods(campus_id=make_campus().id).id, student)
    with pytest.raises(NotFound):
        catalogue.get_goods_for_student(999999, student)
    gone = make_goods(name="已删除")
    db.session.get(Goods, gone.id).deleted = True
    db.session.commit()
    with pytest.raises(NotFound):
        catalogue.get_goods_for_student(gone.id, student)
    with pytest.raises(GoodsUnavailable):  # a parent redeeming what was just deleted
        catalogue.get_goods_for_sale(gone.id, student)
