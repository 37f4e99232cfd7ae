"""Real concurrent requests on PostgreSQL: one person, one row; the last gift goes to one family."""

from sqlalchemy import func, select

from school_points.models import Redemption, WechatUser
from school_points.platform.extensions import db
from tests.conftest import balance_of, requires_pg, run_concurrently
from tests.miniprogram_api.test_points_and_mall import _goods


@requires_pg
def test_concurrent_first_logins_of_one_person_make_one_user(app, fake_wechat):
    for i in range(6):
        fake_wechat.add_code(f"same-{i}", openid="mp-racer")

    def log_in(i):
        return app.test_client().post("/api/v1/auth/login", json={"code": f"same-{i}"}).json["user"]["id"]

    ids = run_concurrently(app, log_in, range(6))
    assert len(set(ids)) == 1, ids
    assert db.session.scalar(select(func.count()).select_from(WechatUser)) == 1


@requires_pg
def test_the_last_item_goes_to_exactly_one_of_many_families(app, family):
    goods = _goods(points=30, stock=1, stock_received=1)
    families = [family(balance=100) for _ in range(8)]
    tokens = [(mp.token, student.id) for mp, student in families]

    def redeem(args):
        token, sid = args
        response = app.test_client().post(
            "/api/v1/redemptions",
            json={"student_id": sid, "goods_id": goods.id},
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.status_code

    statuses = run_concurrently(app, redeem, tokens)
    assert sorted(statuses) == [201] + [409] * 7
    assert sorted(balance_of(sid) for _, sid in tokens) == [70] + [100] * 7
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1


@requires_pg
def test_a_repeated_idempotency_key_sent_concurrently_makes_one_order(app, family):
    goods = _goods(points=10, stock=5, stock_received=5)
    mp, student = family(balance=100)

    def redeem(_):
        response = app.test_client().post(
            "/api/v1/redemptions",
            json={"student_id": student.id, "goods_id": goods.id},
            headers={"Authorization": f"Bearer {mp.token}", "Idempotency-Key": "same-tap"},
        )
        return response.status_code, response.json.get("id")

    results = run_concurrently(app, redeem, range(4))
    assert {status for status, _ in results} == {201}
    assert len({order_id for _, order_id in results}) == 1
    assert balance_of(student.id) == 90
