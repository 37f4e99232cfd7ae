import subprocess
import sys

import pytest

from school_points.platform.config import ConfigError, load_config, normalize_database_url


def test_production_without_secret_key_refuses_to_start(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path)


def test_production_app_exits_with_a_clear_message(tmp_path):
    env = {"APP_ENV": "production", "PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi; wsgi.create_app()"], env=env, capture_output=True, text=True, cwd="."
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("given", ["postgres://u@h/db", "postgresql://u@h/db"])
def test_both_postgres_url_spellings_are_accepted(given):
    assert normalize_database_url(given) == "postgresql+psycopg://u@h/db"


def test_embedded_default_is_a_sqlite_file_under_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    config = load_config(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/school_points.sqlite3"
    assert config["REDIS_URL"] is None


def test_production_without_public_base_url_refuses_to_start(tmp_path, monkeypatch):
    """Otherwise absolute URLs (uploaded images) would come from whatever Host header a client sent."""
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set when APP_ENV=production"):
        load_config(tmp_path)


def test_production_with_public_base_url_starts_and_drops_the_trailing_slash(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://points.school.example/")
    assert load_config(tmp_path)["PUBLIC_BASE_URL"] == "https://points.school.example"


def test_development_without_public_base_url_still_starts(tmp_path, monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert load_config(tmp_path)["PUBLIC_BASE_URL"] == ""


@pytest.mark.parametrize(
    "bad",
    [
        "points.school.example",
        "javascript:alert(1)",
        "https://",
        "https://points.school.example/?x=1",
        "https://u:p@points.school.example",
        "ftp://points.school.example",
        "https://points.school.example/a b",
    ],
)
def test_a_malformed_public_base_url_refuses_to_start(tmp_path, monkeypatch, bad):
    monkeypatch.setenv("PUBLIC_BASE_URL", bad)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be an absolute http"):
        load_config(tmp_path)


def test_upload_quota_is_settable(tmp_path, monkeypatch):
    monkeypatch.setenv("UPLOAD_DAILY_FILES", "7")
    monkeypatch.setenv("UPLOAD_DAILY_BYTES", "1000")
    config = load_config(tmp_path)
    assert (config["UPLOAD_DAILY_FILES"], config["UPLOAD_DAILY_BYTES"]) == (7, 1000)


def production_env(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://points.school.example")


def test_production_hashes_admin_passwords_with_scrypt_and_the_environment_cannot_weaken_it(tmp_path, monkeypatch):
    production_env(monkeypatch)
    monkeypatch.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1")  # not an environment setting: ignored
    assert load_config(tmp_path)["PASSWORD_HASH_METHOD"] == "scrypt"
    from wsgi import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/prod.db", "REDIS_URL": None})
    with app.app_context():
        from school_points.people.admins import authenticate, create_admin
        from school_points.platform.extensions import db

        db.create_all()
        admin = create_admin("boss", "correct-horse-9")
        assert admin.password_hash.startswith("scrypt:")
        assert authenticate("boss", "correct-horse-9") is admin and authenticate("boss", "wrong-horse-9") is None
        db.session.remove()


def test_production_refuses_a_cheap_password_hash_even_from_code(tmp_path, monkeypatch):
    production_env(monkeypatch)
    with pytest.raises(ConfigError, match="PASSWORD_HASH_METHOD must be 'scrypt' when APP_ENV=production"):
        load_config(tmp_path, {"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})


def test_test_apps_hash_cheaply_and_unknown_usernames_cost_the_same_cheap_check(app, monkeypatch):
    """The suite's speed: hundreds of admins made and logged in without scrypt's ~0.1 s each."""
    from werkzeug import security

    from school_points.people import admins

    methods = []
    real = security._hash_internal
    monkeypatch.setattr(security, "_hash_internal", lambda method, *a: methods.append(method) or real(method, *a))
    admin = admins.create_admin("boss", "correct-horse-9")
    assert admin.password_hash.startswith("pbkdf2:sha256:1$")
    assert admins.authenticate("nobody", "correct-horse-9") is None
    assert methods and all(m == "pbkdf2:sha256:1" for m in methods)
