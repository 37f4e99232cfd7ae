"""What every HTTP adapter shares, outside the domain: the error shape (errors), JSON bodies
(bodies), list pages (pagination), idempotent creating POSTs (idempotency), committing and
answering (responses), no cookie session (sessions) and security headers (security_headers).

It imports Flask and school_points.platform, nothing else of the domain and no adapter."""
