"""The app behind N trusted proxies (TRUSTED_PROXY_COUNT), as wsgi.create_app wraps it, for one test.

Requests then come from the proxy's own address (REMOTE_ADDR, 10.0.0.1 here) with the client's in
X-Forwarded-For, exactly as nginx sends them.
"""

import pytest

from wsgi import trust_proxies

NGINX = {"REMOTE_ADDR": "10.0.0.1"}


@pytest.fixture
def behind_proxies(app):
    """Call with a proxy count; the session's app is wrapped as create_app would wrap it."""
    original, saved = app.wsgi_app, app.config["TRUSTED_PROXY_COUNT"]

    def trust(count):
        app.wsgi_app = original
        app.config["TRUSTED_PROXY_COUNT"] = count
        trust_proxies(app)

    yield trust
    app.wsgi_app, app.config["TRUSTED_PROXY_COUNT"] = original, saved


def via_proxy(client_address, forged=()):
    """Keyword arguments for the test client: a request nginx forwards for `client_address`, after
    the client itself sent X-Forwarded-For with the `forged` addresses in it."""
    chain = ", ".join([*forged, client_address])
    return {"headers": {"X-Forwarded-For": chain}, "environ_base": NGINX}
