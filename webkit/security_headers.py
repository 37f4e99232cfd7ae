"""Security headers on every response: what a browser should and should not do with it.

The APIs answer JSON to the mini-program and to scripts, but a browser can still be pointed at
any URL, and a few pages are HTML (the API docs, later the staff console). So:
- every response: `X-Content-Type-Options: nosniff` (a body is never re-read as HTML or script
  whatever it looks like) and `Referrer-Policy: same-origin` (links out of our pages do not
  carry our URLs, which may hold ids, to other sites);
- HTML: `X-Frame-Options: DENY` and a Content-Security-Policy that allows scripts, styles, fonts
  and images from this origin only and no inline script or style, so an injected tag does nothing;
  no one may frame our pages (clickjacking);
- HSTS only when the request arrived over HTTPS (`request.is_secure`; behind a trusted proxy
  ProxyFix turns X-Forwarded-Proto into that): sent over plain HTTP it would be ignored anyway,
  and a development server on http://localhost must stay reachable.
"""

from flask import current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def register_security_headers(app):
    """Add the headers to every response the app sends, errors included."""
    app.after_request(add_security_headers)


def add_security_headers(response):
    """The headers for `response`; a header a view set itself is left as it is."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    max_age = current_app.config.get("HSTS_MAX_AGE_SECONDS", 0)
    if request.is_secure and max_age > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    return response


def policy_allowing_styles(*sha256_digests) -> str:
    """The HTML policy with these inline <style> blocks allowed by their base64 SHA-256 digests
    (a self-contained page, such as a printable sheet): every other inline style, and every
    script, stays refused. A view sets it as its response's Content-Security-Policy."""
    hashes = " ".join(f"'sha256-{digest}'" for digest in sha256_digests)
    return CONTENT_SECURITY_POLICY.replace("style-src 'self'", f"style-src 'self' {hashes}", 1)
