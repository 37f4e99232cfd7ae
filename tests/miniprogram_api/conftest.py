"""Mini-program API fixtures: people logged in through the real login route against the fake WeChat."""

import itertools

import pytest

from school_points.models import WechatUser
from school_points.people import tokens
from school_points.platform.extensions import db
from tests.fakewechat import fake_wechat  # noqa: F401  (fixture)

# A valid 1x1 PNG (uploads are decoded in full, checksums included).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082"
)
_codes = itertools.count(1)


class Mp:
    """The mini-program as one person uses it: JSON in and out, the bearer token attached."""

    prefix = "/api/v1"

    def __init__(self, client, token=None, user_id=None):
        self.client, self.token, self.user_id = client, token, user_id

    def _headers(self, headers=None, key=None):
        merged = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if key is not None:
            merged["Idempotency-Key"] = key
        merged.update(headers or {})
        return merged

    def get(self, path, **params):
        return self.client.get(self.prefix + path, query_string=params, headers=self._headers())

    def post(self, path, json=None, key=None, headers=None, **kwargs):
        return self.client.post(self.prefix + path, json=json, headers=self._headers(headers, key), **kwargs)

    def put(self, path, json=None):
        return self.client.put(self.prefix + path, json=json, headers=self._headers())

    def delete(self, path):
        return self.client.delete(self.prefix + path, headers=self._headers())

    @property
    def user(self):
        return db.session.get(WechatUser, self.user_id)


@pytest.fixture
def anonymous(client):
    return Mp(client)


@pytest.fixture
def login(client, fake_wechat):  # noqa: F811
    """Log a person in through POST /auth/login with a fresh wx.login code; returns an Mp."""

    def do_login(openid=None, unionid=None, ref=None):
        code = f"code-{next(_codes)}"
        openid = openid or f"mp-open-{code}"
        fake_wechat.add_code(code, openid=openid, unionid=unionid)
        body = {"code": code, **({"ref": ref} if ref else {})}
        response = client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 200, response.json
        return Mp(client, response.json["token"], response.json["user"]["id"])

    return do_login


@pytest.fixture
def as_user(client):
    """An Mp for an existing user, with a token issued directly (when login itself is not the subject)."""

    def make(user):
        token, _ = tokens.issue("user", user.id)
        return Mp(client, token, user.id)

    return make


@pytest.fixture
def family(make_student, make_guardian, as_user):
    """A student with points and a guardian logged in: (mp, student)."""

    def make(balance=100, **kwargs):
        student = make_student(balance=balance, **kwargs)
        user = make_guardian(student)
        return as_user(user), student

    return make


@pytest.fixture
def teacher_of(make_teacher, make_user, make_class, as_user):
    """A teacher (with a WeChat user) of a class of the given students: (mp, teacher, klass)."""

    def make(students=(), campus_id=None, name="李老师"):
        user = make_user()
        teacher = make_teacher(name=name, campus_id=campus_id, user=user)
        klass = make_class(teachers=[teacher], students=list(students), campus_id=campus_id)
        return as_user(user), teacher, klass

    return make


@pytest.fixture
def uploaded(app):
    """Store a PNG through the API and return its URL."""

    def upload(mp):
        import io

        response = mp.post("/uploads", data={"file": (io.BytesIO(PNG), "a.png")}, content_type="multipart/form-data")
        assert response.status_code == 201, response.json
        return response.json["url"]

    return upload
