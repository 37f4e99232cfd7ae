"""While the database is unreachable every route answers 503 `service_unavailable` with
`Retry-After`, never 500, and the first request after it is back succeeds.

PostgreSQL is made unreachable mid-request: the app under test talks to it through a TCP proxy
(tests/ops/tcp_proxy.py) that the test cuts between two statements of one request.
"""

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from school_points.mall import redemption_pg
from school_points.models import Campus, LedgerEntry, Redemption
from school_points.people import tokens
from school_points.people.admins import create_admin
from school_points.platform.config import normalize_database_url
from school_points.platform.extensions import db
from tests.conftest import PG_URL, balance_of, requires_pg
from tests.fakewechat import WECHAT_TEST_CONFIG, fake_wechat  # noqa: F401  (fixture)
from tests.ops.tcp_proxy import CuttableProxy
from tests.wechat_bot.officialaccount import AES_KEY, APP_ID, TOKEN, OfficialAccount, text_xml
from wsgi import create_app

UNAVAILABLE = {"code": "service_unavailable", "message": "服务暂不可用，请稍后再试", "details": {}}


def assert_unavailable(response):
    """What a caller sees while the database is down: a 503 to retry, not a server error."""
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json == {"error": UNAVAILABLE}
    assert int(response.headers["Retry-After"]) > 0


def build_app(database_url, tmp_path, wechat, **overrides):
    """An app of its own on `database_url`, talking to the fake WeChat, with the official account set up."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": None,
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            **WECHAT_TEST_CONFIG,
            "WECHAT_API_BASE_URL": wechat.base_url,
            "WECHAT_OA_TOKEN": TOKEN,
            "WECHAT_OA_AES_KEY": AES_KEY,
            "WECHAT_OA_APP_ID": APP_ID,
            "WECHAT_OA_ALLOW_PLAINTEXT": True,  # plaintext messages keep these tests short
            **overrides,
        }
    )


class Outage:
    """The app behind a cuttable proxy to the test database, and the switch."""

    def __init__(self, tmp_path, wechat):
        url = make_url(normalize_database_url(PG_URL))
        self.proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
        proxied = url.set(host="127.0.0.1", port=self.proxy.port).render_as_string(hide_password=False)
        self.app = build_app(proxied, tmp_path, wechat)
        self.client = self.app.test_client()
        with self.app.app_context():
            self.engine = db.engine
        self.statements = self.checkouts = 0
        self.cut_before_statement = self.cut_at_checkout = None
        event.listen(self.engine, "before_cursor_execute", self._count)
        event.listen(self.engine, "checkout", self._checkout)

    def _count(self, *args, **kwargs):
        self.statements += 1
        if self.statements == self.cut_before_statement:
            self.proxy.cut()

    def _checkout(self, *args):
        self.checkouts += 1
        if self.checkouts == self.cut_at_checkout:
            self.proxy.cut()

    def cut_mid_request(self, before_statement=2):
        """Cut the proxy just before the request's `before_statement`-th SQL statement."""
        self.statements, self.cut_before_statement = 0, before_statement

    def cut_at_nth_checkout(self, n):
        """Cut the proxy as the request takes its `n`-th connection from the pool (a statement run
        straight on a pooled connection fires no statement event)."""
        self.checkouts, self.cut_at_checkout = 0, n

    def cut_now(self):
        self.cut_before_statement = self.cut_at_checkout = None
        self.proxy.cut()

    def restore(self):
        self.cut_before_statement = self.cut_at_checkout = None
        self.proxy.restore()

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._count)
        event.remove(self.engine, "checkout", self._checkout)
        self.engine.dispose()
        self.proxy.close()


@pytest.fixture
def outage(app, tmp_path, fake_wechat):  # noqa: F811
    outage = Outage(tmp_path, fake_wechat)
    yield outage
    outage.close()


def count(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@requires_pg
def test_admin_write_cut_mid_request_is_503_writes_nothing_and_works_once_the_database_is_back(outage):
    admin = create_admin("boss", "correct-horse-9")
    db.session.commit()
    headers = {"Authorization": f"Bearer {tokens.issue('admin', admin.id)[0]}"}
    assert outage.client.get("/api/admin/v1/campuses", headers=headers).status_code == 200  # pool warm

    outage.cut_mid_request()  # the admin is loaded, then the database goes away
    assert_unavailable(outage.client.post("/api/admin/v1/campuses", json={"name": "新校区"}, headers=headers))
    assert outage.statements >= 2  # it really was cut between statements of that request
    assert count(Campus) == 0
    assert_unavailable(outage.client.get("/api/admin/v1/campuses", headers=headers))  # still down: 503 again

    outage.restore()
    response = outage.client.post("/api/admin/v1/campuses", json={"name": "新校区"}, headers=headers)
    assert response.status_code == 201, response.json
    assert count(Campus) == 1


@requires_pg
def test_miniprogram_routes_answer_503_while_down_and_recover(
    outage,
    fake_wechat,
    make_student,
    make_guardian,  # noqa: F811
):
    student = make_student(balance=100)
    headers = {"Authorization": f"Bearer {tokens.issue('user', make_guardian(student).id)[0]}"}
    assert outage.client.get("/api/v1/me", headers=headers).status_code == 200

    outage.cut_mid_request()
    assert_unavailable(outage.client.post(f"/api/v1/students/{student.id}/signin", headers=headers))
    assert_unavailable(outage.client.get("/api/v1/me", headers=headers))
    fake_wechat.add_code("c-1", openid="mp-openid-1")
    assert_unavailable(outage.client.post("/api/v1/auth/login", json={"code": "c-1"}))  # WeChat answered; 503
    assert count(LedgerEntry) == 1  # only the seed credit

    outage.restore()
    response = outage.client.post(f"/api/v1/students/{student.id}/signin", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["awarded"] > 0


@requires_pg
def test_redemption_cut_on_its_own_pooled_connection_is_503_and_recovers(
    outage,
    make_student,
    make_guardian,
    make_goods,
    monkeypatch,
):
    """The redemption's one-statement fast path talks psycopg directly on a pooled connection
    (school_points/platform/autocommit.py), not through the session: the database goes away as it takes
    that connection."""
    student = make_student(balance=100)
    goods = make_goods(points=30, stock=5)
    headers = {"Authorization": f"Bearer {tokens.issue('user', make_guardian(student).id)[0]}"}
    body = {"student_id": student.id, "goods_id": goods.id, "quantity": 1}
    calls = []
    real_call = redemption_pg._call_alone
    monkeypatch.setattr(redemption_pg, "_call_alone", lambda params: calls.append(1) or real_call(params))
    assert outage.client.get("/api/v1/me", headers=headers).status_code == 200

    outage.cut_at_nth_checkout(2)  # the first checkout is the token's revocation lookup
    assert_unavailable(outage.client.post("/api/v1/redemptions", json=body, headers=headers))
    assert calls  # it failed in the fast path's own statement, not before
    assert count(Redemption) == 0
    assert_unavailable(outage.client.post("/api/v1/redemptions", json=body, headers=headers))

    outage.restore()
    response = outage.client.post("/api/v1/redemptions", json=body, headers=headers)
    assert response.status_code == 201, response.json
    assert count(Redemption) == 1
    assert balance_of(student.id) == 70


@requires_pg
def test_wechat_callback_answers_503_while_down_so_wechat_retries(outage, make_student, make_user, make_guardian):
    student = make_student(balance=100)
    make_guardian(student, user=make_user(oa_openid="oa-parent-1"))
    account = OfficialAccount(outage.client)
    assert account.say("oa-parent-1", "积分")  # answered while the database is up

    outage.cut_mid_request(before_statement=1)  # the message arrives and the database is gone
    response = account.post(text_xml("oa-parent-1", "积分", msg_id=4242))
    assert_unavailable(response)

    outage.restore()
    reply = account.reply_of(account.post(text_xml("oa-parent-1", "积分", msg_id=4242)))  # WeChat's retry
    assert "100" in reply["Content"]


@requires_pg
def test_readyz_reports_the_database_down_with_retry_after_and_ok_again_after(outage):
    assert outage.client.get("/readyz").status_code == 200
    outage.cut_now()
    response = outage.client.get("/readyz")
    assert response.status_code == 503
    assert response.json["database"].startswith("error")
    assert int(response.headers["Retry-After"]) > 0
    assert outage.client.get("/healthz").status_code == 200  # the process itself is up
    outage.restore()
    assert outage.client.get("/readyz").json["status"] == "ok"


# ---------------------------------------------------------------- SQLite: a file that cannot be opened


@pytest.fixture
def sqlite_unopenable(app, tmp_path, fake_wechat):  # noqa: F811
    """The app on a SQLite path whose directory does not exist: every connection attempt fails."""
    fake_wechat.add_code("c-1", openid="mp-openid-1")
    broken = build_app(f"sqlite:///{tmp_path}/no-such-dir/school.sqlite3", tmp_path, fake_wechat)
    yield broken
    with broken.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/me"),
        ("POST", "/api/v1/auth/login"),
        ("GET", "/api/admin/v1/campuses"),
        ("POST", "/api/admin/v1/auth/login"),
    ],
)
def test_sqlite_that_cannot_be_opened_is_503_on_the_json_apis(sqlite_unopenable, method, path):
    admin_token = tokens_for(sqlite_unopenable, "admin")
    user_token = tokens_for(sqlite_unopenable, "user")
    token = admin_token if "/admin/" in path else user_token
    body = {"username": "boss", "password": "correct-horse-9"} if "admin" in path else {"code": "c-1"}
    response = sqlite_unopenable.test_client().open(
        path,
        method=method,
        json=body if method == "POST" else None,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_unavailable(response)


def test_sqlite_that_cannot_be_opened_is_503_on_wechat_and_readyz(sqlite_unopenable):
    client = sqlite_unopenable.test_client()
    assert_unavailable(OfficialAccount(client).post(text_xml("oa-parent-1", "积分")))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0


def tokens_for(app, kind):
    with app.app_context():
        return tokens.issue(kind, 1)[0]


@requires_pg
def test_after_the_fast_path_met_the_outage_no_dead_pooled_connection_fails_the_first_request_back(
    outage,
    make_student,
    make_guardian,
    make_goods,
):
    """Several connections sat in the pool when the database went away; the redemption's fast path
    found one dead. Once the database is back, the next request must not be handed another corpse."""
    student = make_student(balance=100)
    goods = make_goods(points=30, stock=5)
    headers = {"Authorization": f"Bearer {tokens.issue('user', make_guardian(student).id)[0]}"}
    with outage.app.app_context():
        first, second = db.engine.connect(), db.engine.connect()  # two connections now in the pool
        first.close()
        second.close()

    outage.cut_now()
    body = {"student_id": student.id, "goods_id": goods.id, "quantity": 1}
    assert_unavailable(outage.client.post("/api/v1/redemptions", json=body, headers=headers))

    outage.restore()
    response = outage.client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.json


def test_no_pooled_connection_free_in_time_is_503_not_500(
    app,
    database_url,
    tmp_path,
    fake_wechat,
    make_student,
    make_guardian,  # noqa: F811
):
    """Every connection of a worker's pool is busy (a burst, a slow query) past the pool's timeout."""
    student = make_student()
    headers = {"Authorization": f"Bearer {tokens.issue('user', make_guardian(student).id)[0]}"}
    db.session.commit()  # the test's own session holds no transaction (on SQLite: no write lock)
    small = build_app(
        normalize_database_url(database_url),
        tmp_path,
        fake_wechat,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.01},
    )
    with small.app_context():
        engine = db.engine
    try:
        busy = engine.connect()  # the pool's only connection, held by someone else
        assert_unavailable(small.test_client().get("/api/v1/me", headers=headers))
        busy.close()
        assert small.test_client().get("/api/v1/me", headers=headers).status_code == 200
    finally:
        engine.dispose()
