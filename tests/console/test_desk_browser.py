"""The orders desk and the goods screen in a real browser (day-one stories), with screenshots:
find an order by its pickup code and issue it, cancel another with a reason, create goods with
an image."""

import pytest
from sqlalchemy import func, select

from school_points.mall.redemption import redeem
from school_points.models import Goods, Notification, Redemption
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from tests.conftest import balance_of
from tests.console.conftest import shoot, sign_in, visit
from tests.miniprogram_api.test_uploads import image_bytes

expect = pytest.importorskip("playwright.sync_api").expect


def place(student, goods, quantity=1):
    order = redeem(student.id, goods.id, quantity, key=f"o-{student.id}-{goods.id}", actor=Actor.system())
    db.session.commit()
    return order


def fresh(order_id):
    db.session.expire_all()
    return db.session.get(Redemption, order_id)


def csp_refusals(page):
    """What the Content-Security-Policy refused (a 422 answer to a form is logged too: not that)."""
    return [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e]


@pytest.fixture
def desk(make_admin, make_student, make_goods, make_guardian):
    make_admin("boss")
    wang, li, zhang = (
        make_student(name, balance=points) for name, points in (("王小明", 120), ("李小红", 130), ("张伟", 60))
    )
    make_guardian(wang, relation="妈妈")
    pen, book, cup = make_goods("自动铅笔", points=30), make_goods("图画书", points=50), make_goods("保温杯", points=40)
    orders = [place(wang, pen), place(li, book), place(zhang, cup), place(li, pen)]
    return orders


def test_the_desk_finds_an_order_by_its_pickup_code_and_issues_it(page, desk):
    order_id = desk[0].id
    code = fresh(order_id).pickup_code
    sign_in(page)
    visit(page, "/console/redemptions")
    expect(page.locator("#f-code")).to_be_focused()
    page.fill("#f-code", code.lower())
    with page.expect_navigation():
        page.click("text=查找订单")
    card = page.locator(".order-card")
    expect(card).to_contain_text("王小明")
    expect(card).to_contain_text("自动铅笔 × 1")
    expect(card).to_contain_text("待发放")
    with page.expect_navigation():
        card.locator("button", has_text="发放").click()
    assert page.dialogs[-1] == ("confirm", "确定已将「自动铅笔」× 1 交给 王小明 吗？")
    expect(page.locator(".flash-success")).to_contain_text("已发放：王小明 的「自动铅笔」× 1")
    expect(card).to_contain_text("已发放")
    assert fresh(order_id).status == "issued"
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "issued")) == 1
    assert csp_refusals(page) == []
    shoot(page, "redemptions")


def test_the_desk_cancels_an_order_with_a_reason(page, desk):
    order_id, student_id = desk[1].id, desk[1].student_id  # read now: a read later holds SQLite's lock
    assert balance_of(student_id) == 50
    sign_in(page)
    visit(page, "/console/redemptions")
    page.locator("tr", has_text="图画书").locator("text=取消").click()
    page.wait_for_url(f"**/console/redemptions/{order_id}#cancel")
    page.click("text=取消订单并退回积分")
    expect(page.locator("#e-reason")).to_have_text("必填")
    page.fill("#f-reason", "家长要求换成别的礼品")
    with page.expect_navigation():
        page.click("text=取消订单并退回积分")
    assert page.dialogs[-1] == ("confirm", "确定取消该订单吗？50 积分将退回 李小红，库存恢复。")
    expect(page.locator(".flash-success")).to_contain_text("50 积分已退回 李小红")
    expect(page.locator("main")).to_contain_text("家长要求换成别的礼品")
    assert balance_of(student_id) == 100 and fresh(order_id).status == "cancelled"
    assert csp_refusals(page) == []
    shoot(page, "redemption")


def test_creating_goods_with_an_image(page, make_admin, tmp_path):
    make_admin("boss")
    picture = tmp_path / "sticker.png"
    picture.write_bytes(image_bytes("PNG", size=(240, 240)))
    evil = tmp_path / "evil.png"
    evil.write_bytes(b"<html><script>alert(1)</script></html>")
    sign_in(page)
    visit(page, "/console/goods")
    expect(page.locator(".empty")).to_contain_text("还没有商品")
    with page.expect_navigation():
        page.click("text=新建商品")
    page.fill("#f-name", "卡通贴纸")
    page.fill("#f-points", "15")
    page.fill("#f-stock", "100")
    page.fill("#f-limit_per_student", "2")
    page.fill("#f-verify_code", "2468")
    page.set_input_files("#f-image", str(evil))
    with page.expect_navigation():
        page.click("button:has-text('新建商品')")
    expect(page.locator("#e-image")).to_have_text("只能上传 JPEG、PNG 或 WebP 图片")
    assert db.session.scalar(select(func.count()).select_from(Goods)) == 0
    db.session.rollback()  # end the read: on SQLite it holds the lock the server needs
    shoot(page, "goods-errors")
    page.set_input_files("#f-image", str(picture))
    with page.expect_navigation():
        page.click("button:has-text('新建商品')")
    expect(page.locator(".flash-success")).to_contain_text("已新建商品「卡通贴纸」")
    expect(page.locator("img.goods-preview")).to_be_visible()
    assert page.evaluate("document.querySelector('img.goods-preview').naturalWidth") == 240
    visit(page, "/console/goods")
    expect(page.locator("tr", has_text="卡通贴纸")).to_contain_text("已上架")
    assert page.evaluate("document.querySelector('img.goods-thumb').naturalWidth") == 240
    assert csp_refusals(page) == []
    shoot(page, "goods")
