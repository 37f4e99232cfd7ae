"""WeChat API clients on WECHAT_API_BASE_URL (docs/WECHAT.md): official account, mini-program.

wechatpy's client is used for its API wrappers, with three changes: every URL (its own base and
the absolute ones some wrappers hard-code) goes to WECHAT_API_BASE_URL; the access token comes
from the shared `TokenStore`; and its unbounded auto-retry on 40001 is off. `call()` is the one
place that retries after a token error: refresh once, retry once.
"""

import logging
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from school_points.platform.clock import utcnow
from school_points.platform.errors import DomainError
from school_points.platform.redis_conn import get_redis
from school_points.wechat.access_tokens import TokenFetchTimeout, TokenStore

log = logging.getLogger(__name__)

OFFICIAL_BASE = "https://api.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
INVALID_CODE_ERRORS = frozenset({40029, 40163, 40226})
API_TIMEOUT_SECONDS = 5
QR_IMAGE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="
DEV_CODE_PREFIX = "dev:"
DEV_CODE = re.compile(r"dev:([A-Za-z0-9_-]{1,32})")


class InvalidCode(DomainError):
    code, message, kind = "invalid_code", "登录凭证无效，请重新进入小程序", "unauthorized"


class WechatUnavailable(DomainError):
    """WeChat could not be reached or refused the call; `errcode`/`http_status` say how."""

    code, message, kind = "wechat_unavailable", "微信服务暂不可用，请稍后再试", "bad_gateway"

    def __init__(self, message=None, *, errcode=None, http_status=None, reason="") -> None:
        details = {k: v for k, v in {"errcode": errcode, "http_status": http_status, "reason": reason}.items() if v}
        super().__init__(message, details=details)
        self.errcode = errcode
        self.http_status = http_status
        self.reason = reason
        self.bad_token = None

    @property
    def transient(self) -> bool:
        """Worth retrying later: timeouts, connection errors, 5xx, WeChat's -1 (system busy)."""
        return self.errcode in (None, -1) and (self.http_status is None or self.http_status >= 500)

    def __str__(self) -> str:
        return f"{self.code}: errcode={self.errcode} http_status={self.http_status} {self.reason}"


class WechatNotConfigured(WechatUnavailable):
    code, message, kind = "wechat_not_configured", "未配置微信公众号或小程序", "unavailable"


class SchoolWeChatClient(WeChatClient):
    """wechatpy's client, pointed at our base URL and our shared token store."""

    def __init__(self, appid, secret, *, base_url, redis_client=None, timeout=API_TIMEOUT_SECONDS) -> None:
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.base_url = base_url.rstrip("/")
        self.API_BASE_URL = self.base_url + "/cgi-bin/"
        self.tokens = TokenStore(appid, self._fetch_token, redis_client)

    @property
    def access_token(self) -> str:
        try:
            return self.tokens.get()
        except TokenFetchTimeout as exc:
            raise WechatUnavailable(reason=str(exc)) from None

    def fetch_access_token(self) -> str:
        """Refresh the token (only `call()` and the token store should need this)."""
        return self.tokens.replace(self.tokens.get())

    def _fetch_token(self, force=False):
        # stable_token returns the token already in force instead of replacing it, unless forced.
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": bool(force),
        }
        result = self._send("post", self.base_url + "/cgi-bin/stable_token", json=body, timeout=self.timeout)
        return result["access_token"], result.get("expires_in", 7200)

    def _request(self, method, url_or_endpoint, **kwargs):
        if "api_base_url" in kwargs:
            kwargs["api_base_url"] = self.rebase(kwargs["api_base_url"])
        params = kwargs.setdefault("params", {})
        try:
            return super()._request(method, self.rebase(url_or_endpoint), **kwargs)
        except WechatUnavailable as exc:
            exc.bad_token = params.get("access_token") if isinstance(params, dict) else None
            raise
        except WeChatClientException as exc:
            raise _translated(exc, params) from None
        except requests.RequestException as exc:
            raise WechatUnavailable(reason=f"{type(exc).__name__}: {exc}"[:200]) from None

    def rebase(self, url) -> str:
        """Send an official WeChat URL to our configured base instead."""
        if url.startswith(OFFICIAL_BASE):
            return self.base_url + url[len(OFFICIAL_BASE) :]
        return url

    def _send(self, method, url, **kwargs):
        """A call that carries no access token (token fetch, jscode2session)."""
        try:
            response = self._http.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise WechatUnavailable(reason=f"{type(exc).__name__}: {exc}"[:200]) from None
        if response.status_code >= 400:
            raise WechatUnavailable(http_status=response.status_code, reason=f"HTTP {response.status_code}")
        try:
            result = response.json()
        except ValueError:
            raise WechatUnavailable(http_status=response.status_code, reason="response is not JSON") from None
        if not isinstance(result, dict):
            raise WechatUnavailable(reason="response is not a JSON object")
        errcode = int(result.get("errcode") or 0)
        if errcode:
            raise WechatUnavailable(errcode=errcode, reason=str(result.get("errmsg", ""))[:200])
        return result


def _translated(exc, params):
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    errcode = exc.errcode if exc.errcode not in (None, "") else None
    error = WechatUnavailable(
        errcode=int(errcode) if errcode is not None else None,
        http_status=status if errcode is None else None,
        reason=str(exc.errmsg or (f"HTTP {status}" if status else ""))[:200],
    )
    error.bad_token = params.get("access_token") if isinstance(params, dict) else None
    return error


def call(client, request) -> Any:
    """`request(client)`; after a token error refresh the token once and retry once."""
    try:
        return request(client)
    except WechatUnavailable as exc:
        if exc.errcode not in TOKEN_ERRORS:
            raise
        log.info("WeChat refused token for %s (errcode %s); refreshing once", client.appid, exc.errcode)
        try:
            client.tokens.replace(exc.bad_token)
        except TokenFetchTimeout as timeout:
            raise WechatUnavailable(reason=str(timeout)) from None
    return request(client)


def _client(kind):
    config = current_app.config
    appid, secret = config[f"WECHAT_{kind}_APP_ID"], config[f"WECHAT_{kind}_APP_SECRET"]
    if not (appid and secret):
        raise WechatNotConfigured(reason=f"WECHAT_{kind}_APP_ID / WECHAT_{kind}_APP_SECRET not set")
    cache = current_app.extensions.setdefault("wechat_clients", {})
    base_url = config["WECHAT_API_BASE_URL"]
    cache_key = (kind, appid, base_url)
    if cache_key not in cache:
        cache[cache_key] = SchoolWeChatClient(appid, secret, base_url=base_url, redis_client=get_redis())
    return cache[cache_key]


def oa_configured() -> bool:
    """True when the official account's app id and secret are set."""
    return bool(current_app.config["WECHAT_OA_APP_ID"] and current_app.config["WECHAT_OA_APP_SECRET"])


def mp_configured() -> bool:
    """True when the mini-program's app id and secret are set."""
    return bool(current_app.config["WECHAT_MP_APP_ID"] and current_app.config["WECHAT_MP_APP_SECRET"])


def oa_client() -> SchoolWeChatClient:
    """The official account's client; WechatNotConfigured without credentials."""
    return _client("OA")


def mp_client() -> SchoolWeChatClient:
    """The mini-program's client; WechatNotConfigured without credentials."""
    return _client("MP")


def dev_login_enabled() -> bool:
    """`dev:<name>` codes log in without WeChat: only in development with no mini-program app id."""
    config = current_app.config
    return config.get("APP_ENV") == "development" and not config.get("WECHAT_MP_APP_ID")


def _dev_session(code):
    """The local user a `dev:<name>` code names (docs/LOCAL_DEVELOPMENT.md); InvalidCode for a bad name.

    The fake openid `dev-<name>` is stable (the same name is the same user) and cannot be a real
    one (WeChat's mini-program openids begin with "o").
    """
    match = DEV_CODE.fullmatch(code)
    if match is None:
        raise InvalidCode()
    name = "dev-" + match.group(1)
    return {"openid": name, "session_key": "", "nickname": name}


def mp_code2session(code) -> dict[str, str]:
    """Exchange a wx.login code: {openid, unionid?, session_key}; InvalidCode or WechatUnavailable."""
    if not isinstance(code, str) or not code.strip() or len(code) > 128:
        raise InvalidCode()
    if code.startswith(DEV_CODE_PREFIX):
        if dev_login_enabled():
            return _dev_session(code)
        if not mp_configured():
            # Outside development a dev code is only a code nobody issued: 401, as WeChat would
            # answer it, not the 503 that would tell a prober the dev login exists but is off.
            raise InvalidCode()
    client = mp_client()
    params = {
        "appid": client.appid,
        "secret": client.secret,
        "js_code": code.strip(),
        "grant_type": "authorization_code",
    }
    try:
        result = client._send("get", client.base_url + "/sns/jscode2session", params=params, timeout=client.timeout)
    except WechatUnavailable as exc:
        if exc.errcode in INVALID_CODE_ERRORS:
            raise InvalidCode() from None
        raise
    if not result.get("openid"):
        raise WechatUnavailable(reason="jscode2session returned no openid")
    session = {"openid": result["openid"], "session_key": result.get("session_key", "")}
    if result.get("unionid"):
        session["unionid"] = result["unionid"]
    return session


def oa_qrcode(scene, expire_seconds=30 * 24 * 3600, *, timeout=API_TIMEOUT_SECONDS) -> dict[str, Any]:
    """A parametric QR code of the official account: {url, ticket, expires_at, content}.

    `expire_seconds=None` makes a permanent code (WeChat allows 100,000 of those per account).
    `url` is the QR image; `content` what the code encodes (WeChat's own `url`, to draw the code
    ourselves); `expires_at` is None for a permanent code. `timeout` bounds each HTTP
    call (the callback must answer WeChat within 5 s).
    """
    if expire_seconds is None:
        body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
    else:
        expire_seconds = max(60, min(int(expire_seconds), 30 * 24 * 3600))
        body = {
            "expire_seconds": expire_seconds,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
    result = call(oa_client(), lambda client: client.post("qrcode/create", data=body, timeout=timeout))
    ticket = result.get("ticket")
    if not ticket:
        raise WechatUnavailable(reason="qrcode/create returned no ticket")
    seconds = result.get("expire_seconds", expire_seconds)
    expires_at = utcnow() + timedelta(seconds=int(seconds)) if expire_seconds is not None else None
    return {
        "url": QR_IMAGE_URL + quote(ticket),
        "ticket": ticket,
        "expires_at": expires_at,
        "content": result.get("url") or "",
    }
