"""The callback's envelope: signatures, freshness, plaintext vs safe (AES) mode, safe XML, replies.

Everything here rejects bad input with an `EnvelopeError` (a 4xx) before any domain code runs:
a wrong signature, a stale timestamp, plaintext where safe mode is configured, a body that is too
large, XML that is malformed or carries a DTD or entities (defusedxml refuses those before
wechatpy's parser ever sees the text).
"""

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto
from wechatpy.parser import parse_message

from school_points.platform import clock

MAX_BODY_BYTES = 64 * 1024
MAX_FIELD_LENGTH = 256
MAX_OPENID_LENGTH = 64

log = logging.getLogger(__name__)


class EnvelopeError(Exception):
    """A request the callback refuses: `status` is the 4xx, `code` a snake_case reason."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Settings:
    """What the envelope needs from the app config."""

    token: str
    aes_key: str
    app_id: str
    max_age: int = 300  # seconds a signed timestamp stays good, either way from now; 0: no limit
    allow_plaintext: bool = False  # plaintext messages although aes_key is set


def signature_of(*parts):
    """WeChat's signature: SHA-1 of the sorted parts joined."""
    return hashlib.sha1("".join(sorted(str(p) for p in parts)).encode()).hexdigest()


def verify_signature(settings, args):
    """Check the plain `signature` every callback request carries; EnvelopeError(403) if wrong."""
    timestamp, nonce, signature = (_arg(args, name) for name in ("timestamp", "nonce", "signature"))
    if not (timestamp and nonce and signature):
        raise EnvelopeError(403, "missing_signature", "缺少签名参数")
    if not hmac.compare_digest(signature_of(settings.token, timestamp, nonce), signature):
        raise EnvelopeError(403, "bad_signature", "签名校验失败")


def check_fresh(settings, args, now):
    """EnvelopeError(403) when the signed `timestamp` is further than `max_age` seconds from `now`.

    In plaintext mode the signature covers only token, timestamp and nonce: without this window a
    signature seen once (in a log, a proxy) would sign any body for ever. Both directions count,
    so a timestamp set in the future cannot buy a longer life. WeChat re-signs each retry with a
    new timestamp, and a retry's repeated MsgId is answered by the inbox's dedupe.
    """
    if not settings.max_age:
        return
    try:
        skew = int(now) - int(_arg(args, "timestamp"))
    except ValueError:
        skew = None
    if skew is None or abs(skew) > settings.max_age:
        # No secret in this line: the skew alone tells an operator whether the server clock is off.
        log.warning(
            "wechat callback refused: timestamp %s s from now (limit %s s)",
            "unreadable" if skew is None else -skew,
            settings.max_age,
        )
        raise EnvelopeError(403, "stale_message", "消息时间戳无效或已过期")


def check_mode(settings, args):
    """EnvelopeError(403) for a plaintext message when safe mode is configured (unless allowed).

    With an AES key WeChat sends every message encrypted (safe and compatible modes both carry
    `encrypt_type=aes`), so a plaintext one is someone else's, with a body nobody signed.
    """
    if settings.aes_key and not settings.allow_plaintext and not is_safe_mode(args):
        log.warning(
            "wechat callback refused: plaintext message while WECHAT_OA_AES_KEY is set "
            "(set WECHAT_OA_ALLOW_PLAINTEXT=1 only if the account really is in plaintext mode)"
        )
        raise EnvelopeError(403, "plaintext_refused", "已启用安全模式，拒绝未加密的消息")


def is_safe_mode(args):
    """WeChat marks safe-mode (AES) requests with encrypt_type=aes."""
    return (args.get("encrypt_type") or "raw").lower() == "aes"


def read_message(settings, args, body):
    """The parsed wechatpy message in a POST body (decrypted in safe mode)."""
    if len(body) > MAX_BODY_BYTES:
        raise EnvelopeError(413, "payload_too_large", "消息过大")
    root = _safe_xml(body)
    if is_safe_mode(args):
        body = _decrypt(settings, args, root)
        root = _safe_xml(body)
    sender = root.findtext("FromUserName") or ""
    if root.tag != "xml" or not root.findtext("MsgType") or not sender.strip() or len(sender) > MAX_OPENID_LENGTH:
        raise EnvelopeError(400, "malformed_message", "消息格式不正确")
    try:
        return parse_message(body if isinstance(body, str) else body.decode("utf-8"))
    except Exception:  # noqa: BLE001 - wechatpy's field parsing raises many kinds on odd input
        raise EnvelopeError(400, "malformed_message", "消息格式不正确") from None


def render_reply(settings, args, reply_xml):
    """The response body: the reply as is, or encrypted and signed in safe mode."""
    if not reply_xml or not is_safe_mode(args):
        return reply_xml
    timestamp, nonce = str(int(clock.utcnow().timestamp())), secrets.token_hex(8)
    encrypted = PrpCrypto(_aes_key(settings)).encrypt(reply_xml, settings.app_id).decode()
    signature = signature_of(settings.token, timestamp, nonce, encrypted)
    return (
        f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
    )


def _safe_xml(body):
    try:
        return fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise EnvelopeError(400, "xml_forbidden", "消息包含不允许的 XML 结构") from None
    except (ParseError, ValueError, TypeError):
        raise EnvelopeError(400, "malformed_xml", "消息不是合法的 XML") from None


def _decrypt(settings, args, root):
    encrypted = root.findtext("Encrypt") or ""
    msg_signature, timestamp, nonce = (_arg(args, name) for name in ("msg_signature", "timestamp", "nonce"))
    if not (encrypted and msg_signature):
        raise EnvelopeError(400, "malformed_message", "安全模式消息缺少密文或签名")
    if not settings.aes_key:
        raise EnvelopeError(503, "safe_mode_not_configured", "未配置消息加解密密钥")
    if not hmac.compare_digest(signature_of(settings.token, timestamp, nonce, encrypted), msg_signature):
        raise EnvelopeError(403, "bad_signature", "消息签名校验失败")
    try:
        return PrpCrypto(_aes_key(settings)).decrypt(encrypted, settings.app_id)
    except Exception:  # noqa: BLE001 - padding, base64, length and app-id errors all mean a bad message
        raise EnvelopeError(400, "undecryptable", "消息无法解密") from None


def _aes_key(settings):
    try:
        key = base64.b64decode(settings.aes_key + "=")
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise EnvelopeError(503, "safe_mode_not_configured", "消息加解密密钥配置不正确")
    return key


def _arg(args, name):
    value = args.get(name) or ""
    return value if len(value) <= MAX_FIELD_LENGTH else ""
