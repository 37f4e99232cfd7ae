"""Messages signed and encrypted as WeChat's servers do it, for the callback tests."""

import itertools
import time

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from school_points.platform import clock

TOKEN = "test-oa-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
APP_ID = "wx-oa-test"
_ids = itertools.count(int(time.time() * 1000))


def sign(*parts):
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


class OfficialAccount:
    """Sends messages to /wechat the way WeChat's servers do, and reads the replies."""

    def __init__(self, client, safe=False):
        self.client = client
        self.safe = safe
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)

    def post(self, xml, *, safe=None, timestamp=None, nonce="nonce123", signature=None, query=None):
        """POST a message; returns the raw Flask response."""
        safe = self.safe if safe is None else safe
        # WeChat's servers and ours agree on the time: "now" follows the app's clock seam.
        timestamp = str(timestamp or now_timestamp())
        args = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": signature or sign(TOKEN, timestamp, nonce),
            "openid": "x",
        }
        body = xml
        if safe:
            envelope = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
            args.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
            body = (
                f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
            )
        args.update(query or {})
        return self.client.post(
            "/wechat", query_string=args, data=body.encode() if isinstance(body, str) else body, content_type="text/xml"
        )

    def reply_of(self, response, *, safe=None):
        """The reply's fields as a dict ({} for no reply), decrypted in safe mode."""
        assert response.status_code == 200, response.data
        text = response.get_data(as_text=True)
        if text in ("", "success"):
            return {}
        if self.safe if safe is None else safe:
            envelope = xmltodict.parse(text)["xml"]
            text = self.crypto.decrypt_message(text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        return xmltodict.parse(text)["xml"]

    def say(self, openid, content, *, msg_id=None):
        """A text message from `openid`; returns the reply's Content ("" for none)."""
        return self.reply_of(self.post(text_xml(openid, content, msg_id=msg_id))).get("Content", "")

    def event(self, openid, event, *, key=None, create_time=None, **extra):
        """An event from `openid`; returns the reply's Content ("" for none)."""
        response = self.post(event_xml(openid, event, key=key, create_time=create_time, **extra))
        return self.reply_of(response).get("Content", "")


def now_timestamp():
    """Seconds since the epoch by the app's clock (school_points.platform.clock, which tests may move)."""
    return int(clock.utcnow().timestamp())


def text_xml(openid, content, *, msg_id=None, create_time=None):
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next(_ids)}</MsgId></xml>"
    )


def image_xml(openid, media_id, *, msg_id=None):
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://mmbiz.example/pic]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
        f"<MsgId>{msg_id or next(_ids)}</MsgId></xml>"
    )


def event_xml(openid, event, *, key=None, create_time=None, **extra):
    fields = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in extra.items())
    key_field = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or next(_ids)}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{key_field}{fields}</xml>"
    )


@pytest.fixture
def oa_config(app):
    """A plaintext-mode official account's callback credentials (no AES key), restored after the test.

    With an AES key configured the callback refuses plaintext messages, so safe-mode
    tests add it themselves (the `oa_safe` fixture); everything set here or later is restored.
    """
    values = {
        "WECHAT_OA_TOKEN": TOKEN,
        "WECHAT_OA_AES_KEY": "",
        "WECHAT_OA_APP_ID": APP_ID,
        "WECHAT_OA_ALLOW_PLAINTEXT": False,
        "WECHAT_MAX_MESSAGE_AGE": 300,
    }
    saved = {k: app.config.get(k) for k in values}
    app.config.update(values)
    yield
    app.config.update(saved)
