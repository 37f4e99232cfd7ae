"""A fake WeChat API server: a real threaded HTTP server on 127.0.0.1, random port.

Tests fake WeChat only at its HTTP boundary: the app's real clients (school_points.wechat.clients)
talk HTTP to this server through WECHAT_API_BASE_URL.

Use it in a test (the `fake_wechat` fixture starts one and points the app at it with OA and MP
credentials; import it in your area's conftest.py: `from tests.fakewechat import fake_wechat`):

    def test_login(client, fake_wechat):
        fake_wechat.add_code("good-code", openid="mp-openid-1", unionid="u-1")
        ...                                           # jscode2session now answers for that code
        fake_wechat.script("/sns/jscode2session", 40029)   # the next call gets errcode 40029
        fake_wechat.script("/cgi-bin/message/template/send", -1, -1, 0)   # two busy, then success
        fake_wechat.script("/cgi-bin/message/template/send", HTTP(500), DELAY(6))  # 500, then slow
        fake_wechat.expire_tokens()                   # every issued token now answers 40001
        assert fake_wechat.count("/cgi-bin/stable_token") == 1
        body = fake_wechat.calls("/cgi-bin/message/template/send")[0].json

Scripted outcomes are queued per path and consumed one per call: an int is an errcode answered
with HTTP 200 (0 means "answer normally"), HTTP(status) an empty HTTP error, DELAY(seconds) sleeps
and then answers normally. Unscripted calls answer like WeChat: endpoints that need an access
token check it (unknown or expired token → 40001), tokens come from /cgi-bin/token or
/cgi-bin/stable_token, template and subscribe sends return a msgid (a repeat of one client_msg_id
returns the first msgid and is not delivered twice), customer-service messages
(/cgi-bin/message/custom/send) are delivered, /cgi-bin/media/get returns `media_bytes`,
/cgi-bin/user/info reports the unionid set in `unionids[openid]`, /cgi-bin/qrcode/create answers a
temporary code's url with its scene in it and a permanent one's (QR_LIMIT_STR_SCENE) as WeChat
does, remembering its scene in `qr_scenes[url]` (what a scan of that code reports).

Standalone (e.g. for bench/ or manual runs): `python tests/fakewechat.py [port]`.
"""

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

NO_TOKEN_PATHS = {"/cgi-bin/token", "/cgi-bin/stable_token", "/sns/jscode2session"}
# A valid 1x1 PNG (uploads are decoded in full, checksums included): what /cgi-bin/media/get
# returns unless a test sets `media_bytes`.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082"
)


@dataclass(frozen=True)
class HTTP:
    """A scripted HTTP error status."""

    status: int


@dataclass(frozen=True)
class DELAY:
    """A scripted delay before the normal answer (to make client timeouts happen)."""

    seconds: float


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    params: dict
    json: object
    raw: bytes = field(repr=False)


class FakeWechat:
    """State and script of the fake; `start()` serves it, `stop()` shuts it down."""

    def __init__(self, port=0):
        self.lock = threading.Lock()
        self.port = port
        self.reset()

    def reset(self):
        """Forget calls, scripts, tokens, codes and deliveries."""
        with getattr(self, "lock", threading.Lock()):
            self._calls = []
            self._scripts = {}
            self._tokens = set()
            self._token_seq = 0
            self._codes = {}
            self._msg_seq = 1000
            self._client_msg_ids = {}
            self.delivered = []  # (path, body) of messages really "sent" to a user
            self.media_bytes = TINY_PNG
            self.unionids = {}  # oa openid -> unionid that /cgi-bin/user/info reports
            self.qr_scenes = {}  # url a permanent QR code encodes -> its scene (what a scan reports)
            self.token_expires_in = 7200

    # ---------------------------------------------------------------- scripting

    def script(self, path, *outcomes):
        """Queue outcomes for the next calls to `path` (see module docstring)."""
        with self.lock:
            self._scripts.setdefault(path, []).extend(outcomes)

    def add_code(self, code, openid, unionid=None, session_key="fake-session-key"):
        """Make jscode2session answer `code` with this openid (and unionid)."""
        with self.lock:
            found = {"openid": openid, "session_key": session_key}
            self._codes[code] = {**found, "unionid": unionid} if unionid else found

    def expire_tokens(self):
        """Every token issued so far becomes invalid (calls with it answer 40001)."""
        with self.lock:
            self._tokens.clear()

    def calls(self, path=None):
        """The calls received, optionally only those to `path`."""
        with self.lock:
            return [c for c in self._calls if path is None or c.path == path]

    def count(self, path):
        """How many calls `path` received."""
        return len(self.calls(path))

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- serving

    def start(self):
        """Serve in a daemon thread; returns self."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()

    def handle(self, call):
        """(status, body bytes, content type) for one call."""
        with self.lock:
            self._calls.append(call)
            queue = self._scripts.get(call.path)
            outcome = queue.pop(0) if queue else 0
        if isinstance(outcome, DELAY):
            time.sleep(outcome.seconds)
            outcome = 0
        if isinstance(outcome, HTTP):
            return outcome.status, b"", "text/plain"
        if outcome:
            return _json({"errcode": outcome, "errmsg": f"scripted error {outcome}"})
        if call.path not in NO_TOKEN_PATHS and not self._token_ok(call.params.get("access_token")):
            return _json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
        return self._answer(call)

    def _token_ok(self, token):
        with self.lock:
            return token in self._tokens

    def _new_token(self):
        with self.lock:
            self._token_seq += 1
            token = f"fake-token-{self._token_seq}"
            self._tokens.add(token)
            return {"access_token": token, "expires_in": self.token_expires_in}

    def _answer(self, call):
        body = call.json if isinstance(call.json, dict) else {}
        if call.path in ("/cgi-bin/token", "/cgi-bin/stable_token"):
            return _json(self._new_token())
        if call.path == "/sns/jscode2session":
            found = self._codes.get(call.params.get("js_code"))
            return _json(found or {"errcode": 40029, "errmsg": "invalid code"})
        if call.path in ("/cgi-bin/message/template/send", "/cgi-bin/message/subscribe/send"):
            return _json({"errcode": 0, "errmsg": "ok", "msgid": self._deliver(call.path, body)})
        if call.path == "/cgi-bin/message/custom/send":  # customer-service message: no msgid, no dedupe
            with self.lock:
                self.delivered.append((call.path, body))
            return _json({"errcode": 0, "errmsg": "ok"})
        if call.path == "/cgi-bin/qrcode/create" and body.get("action_name") == "QR_LIMIT_STR_SCENE":
            return _json(self._permanent_qrcode(body))
        if call.path == "/cgi-bin/qrcode/create":
            scene = body.get("action_info", {}).get("scene", {}).get("scene_str", "")
            return _json(
                {
                    "ticket": f"ticket-{scene}",
                    "expire_seconds": body.get("expire_seconds"),
                    "url": f"http://weixin.qq.com/q/{scene}",
                }
            )
        if call.path == "/cgi-bin/user/info":
            openid = call.params.get("openid", "")
            unionid = self.unionids.get(openid)
            return _json({"subscribe": 1, "openid": openid, **({"unionid": unionid} if unionid else {})})
        if call.path == "/cgi-bin/media/get":
            return 200, self.media_bytes, "image/png"
        if call.path.startswith("/cgi-bin/"):
            return _json({"errcode": 0, "errmsg": "ok"})
        return _json({"errcode": 404, "errmsg": "unknown endpoint"}, status=404)

    def _permanent_qrcode(self, body):
        """A permanent string-scene code: like WeChat, the same scene always gets the same code,
        whose url does not show the scene; no expire_seconds."""
        scene = body.get("action_info", {}).get("scene", {}).get("scene_str", "")
        if not 1 <= len(scene) <= 64:
            return {"errcode": 40097, "errmsg": "invalid args"}
        url = "http://weixin.qq.com/q/02" + hashlib.sha256(scene.encode()).hexdigest()[:22]
        with self.lock:
            self.qr_scenes[url] = scene
        return {"ticket": f"ticket-{scene}", "url": url}

    def _deliver(self, path, body):
        with self.lock:
            key = (body.get("touser"), body.get("client_msg_id")) if body.get("client_msg_id") else None
            if key is not None and key in self._client_msg_ids:
                return self._client_msg_ids[key]
            self._msg_seq += 1
            if key is not None:
                self._client_msg_ids[key] = self._msg_seq
            self.delivered.append((path, body))
            return self._msg_seq


def _json(payload, status=200):
    return status, json.dumps(payload, ensure_ascii=False).encode(), "application/json"


def _handler_for(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle + the client's delayed
        # ACK stall every keep-alive answer by ~40 ms (the real WeChat does not).
        disable_nagle_algorithm = True

        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            status, payload, content_type = fake.handle(Call(self.command, parts.path, params, body, raw))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def fake_wechat(app):
    """A running fake WeChat server with the app pointed at it and OA + MP credentials set."""
    fake = FakeWechat().start()
    saved = {k: app.config[k] for k in WECHAT_TEST_CONFIG}
    app.config.update(WECHAT_TEST_CONFIG, WECHAT_API_BASE_URL=fake.base_url)
    try:
        yield fake
    finally:
        app.config.update(saved)
        app.extensions.pop("wechat_clients", None)
        fake.stop()


WECHAT_TEST_CONFIG = {
    "WECHAT_API_BASE_URL": "",
    "WECHAT_OA_APP_ID": "wx-oa-test",
    "WECHAT_OA_APP_SECRET": "oa-secret",
    "WECHAT_MP_APP_ID": "wx-mp-test",
    "WECHAT_MP_APP_SECRET": "mp-secret",
}


if __name__ == "__main__":
    import sys

    server = FakeWechat(int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(f"fake WeChat on {server.base_url}", flush=True)
    server.thread.join()
