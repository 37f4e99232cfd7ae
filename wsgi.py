"""Composition root: create_app() builds the app and is the one place that imports every adapter.

Run with `flask --app wsgi run` or `gunicorn 'wsgi:create_app()'`.
"""

import logging
from pathlib import Path

from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from school_points.ops import cli
from school_points.platform import health
from school_points.platform.config import load_config
from school_points.platform.db_setup import configure_engine
from school_points.platform.extensions import db, migrate
from school_points.platform.jsonlog import configure_logging
from school_points.platform.logsafe import scrub_handlers
from school_points.platform.sentry import init_sentry
from webkit.errors import DATABASE_RETRY_AFTER_SECONDS, register_error_handlers
from webkit.observability import register_observability
from webkit.security_headers import register_security_headers
from webkit.sessions import CookieSessionUnder


def create_app(overrides=None):
    """Build the application; `overrides` replace settings read from the environment."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path, overrides))
    app.json.ensure_ascii = False
    # Only the staff console has a (signed cookie) session; the APIs and /wechat set no cookie.
    app.session_interface = CookieSessionUnder("/console/")
    # One JSON line per record (LOG_FORMAT=text for a terminal), stamped with the request id; set
    # up first, so Flask's app.logger finds a handler and adds no text one of its own.
    configure_logging(app.config["LOG_FORMAT"], logging.INFO)
    for step in (
        register_extensions,
        register_blueprints,
        register_error_handlers,
        register_security_headers,
        register_commands,
        register_monitoring,
    ):
        step(app)
    # Library lines (werkzeug's request line, a URL in an exception) may carry WeChat's signature,
    # nonce, openid or an access token in a query string: every root handler blanks those.
    scrub_handlers()
    trust_proxies(app)
    return app


def trust_proxies(app):
    """Behind TRUSTED_PROXY_COUNT proxies, take the client's address, scheme and host from the
    X-Forwarded-* values the outermost trusted proxy saw; with 0, those headers are ignored.

    ProxyFix reads each header from the right, skipping exactly the entries our own proxies
    appended, so addresses a client prepends itself are never believed.
    """
    count = int(app.config["TRUSTED_PROXY_COUNT"])
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_extensions(app):
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    with app.app_context():
        configure_engine(db.engine)


def register_blueprints(app):
    import admin
    import console
    import miniprogram_api
    import wechat_bot

    app.register_blueprint(admin.bp, url_prefix="/api/admin/v1")
    app.register_blueprint(admin.docs_bp, url_prefix="/api/admin")
    app.register_blueprint(miniprogram_api.bp, url_prefix="/api/v1")
    app.register_blueprint(wechat_bot.bp, url_prefix="/wechat")
    app.register_blueprint(miniprogram_api.docs_bp, url_prefix="/api")
    app.register_blueprint(console.bp, url_prefix="/console")
    console.init_app(app)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        report = health.readiness()
        if report["status"] == "ok":
            return jsonify(report)
        response = jsonify(report)
        response.status_code = 503
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response


def register_commands(app):
    cli.register(app)


def register_monitoring(app):
    """Request ids, the request log, /metrics with the data's figures, Sentry when configured
    (docs/OBSERVABILITY.md)."""
    from school_points.ops.metrics import collectors

    register_observability(app, collectors())
    init_sentry(app.config["SENTRY_DSN"], environment=app.config["SENTRY_ENVIRONMENT"])
