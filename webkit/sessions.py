"""No cookie session: callers sign in with bearer tokens and WeChat signatures."""

from flask.sessions import SessionInterface


class NoCookieSession(SessionInterface):
    """Flask's cookie session, switched off: callers sign in with bearer tokens and WeChat
    signatures, and nothing here sets a cookie. Flask's default would build a signing serializer
    for every request to read a cookie nobody sends; `flask.session` is a read-only empty session."""

    def open_session(self, app, request):
        return None  # Flask then uses make_null_session()

    def save_session(self, app, session, response):
        pass
