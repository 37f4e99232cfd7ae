"""Sessions: none for the APIs (bearer tokens, WeChat signatures); a signed cookie for the staff console."""

from flask import request
from flask.sessions import SecureCookieSessionInterface


class CookieSessionUnder(SecureCookieSessionInterface):
    """Flask's signed-cookie session for the paths under `prefix` (the staff console), and no
    session anywhere else: the JSON APIs and /wechat neither read nor set a cookie.

    The cookie is Secure whenever the request itself came over HTTPS (behind trusted proxies,
    ProxyFix makes X-Forwarded-Proto that), so a development server on plain http still works and
    a deployment behind TLS never sends the cookie in clear.
    """

    def __init__(self, prefix):
        self.prefix = prefix

    def _applies(self):
        return request.path.startswith(self.prefix)

    def open_session(self, app, request_):
        return super().open_session(app, request_) if self._applies() else None

    def save_session(self, app, session, response):
        if self._applies():
            super().save_session(app, session, response)

    def get_cookie_secure(self, app):
        return request.is_secure
