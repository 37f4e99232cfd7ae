import subprocess
import sys

import pytest

from school_points.config import ConfigError, load_config, normalize_database_url


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
