"""GET/POST /wechat: WeChat's URL verification and message callback (docs/WECHAT.md)."""

from flask import Response, current_app, request

from school_points.platform import clock
from school_points.platform.config import as_flag
from webkit.errors import error_response

from . import bp, deferred, dispatch
from .envelope import (
    MAX_BODY_BYTES,
    EnvelopeError,
    Settings,
    check_fresh,
    check_mode,
    read_message,
    render_reply,
    verify_signature,
)
from .inbox import handle_once


def _settings():
    config = current_app.config
    token = config.get("WECHAT_OA_TOKEN")
    if not token:
        raise EnvelopeError(503, "wechat_not_configured", "未配置公众号消息 Token")
    return Settings(
        token=token,
        aes_key=config.get("WECHAT_OA_AES_KEY", ""),
        app_id=config.get("WECHAT_OA_APP_ID", ""),
        max_age=int(config.get("WECHAT_MAX_MESSAGE_AGE", 300) or 0),
        allow_plaintext=as_flag(config.get("WECHAT_OA_ALLOW_PLAINTEXT")),
    )


def _authentic(settings):
    """Signed by WeChat's token, and recently (EnvelopeError otherwise)."""
    verify_signature(settings, request.args)
    check_fresh(settings, request.args, clock.utcnow().timestamp())


@bp.errorhandler(EnvelopeError)
def _refused(exc):
    return error_response(exc.status, exc.code, exc.message)


@bp.get("", strict_slashes=False)
def verify():
    """URL verification: echo `echostr` when the signature is WeChat's and fresh."""
    _authentic(_settings())
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("", strict_slashes=False)
def receive():
    """One message or event: checked, handled once, answered (encrypted in safe mode)."""
    settings = _settings()
    _authentic(settings)
    check_mode(settings, request.args)
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise EnvelopeError(413, "payload_too_large", "消息过大")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    message = read_message(settings, request.args, body)
    reply = handle_once(message, dispatch.handle, defer=deferred.defer)
    return Response(render_reply(settings, request.args, reply) or "success", mimetype="application/xml")
