"""The deploy kit's files agree with the code and with each other.

What can be checked without a Docker engine or a systemd machine: the Dockerfile and compose.yaml
are read, not built (there is no Docker engine where the tests run); the systemd units go through
`systemd-analyze verify` when it is installed. The nginx site runs for real in test_nginx.py.
"""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from school_points.platform.config import load_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
APP_DIR = "/srv/school-points/app"
SERVICES = ("web", "worker", "scheduler")


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: command.strip() for name, _, command in (line.partition(":") for line in lines if line.strip())}


def unit(name) -> dict[str, list[str]]:
    """`Key=value` lines of a unit file, every value of each key (comments dropped)."""
    values = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_nginx_body_limit_is_the_apps():
    site = (DEPLOY / "nginx" / "school-points.conf").read_text()
    size = re.search(r"^\s*client_max_body_size\s+(\d+)([km]?);", site, re.M)
    value = int(size.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[size.group(2)]
    assert value == load_config("/nonexistent")["MAX_CONTENT_LENGTH"]


def test_hsts_is_the_apps_alone():
    """The app sends Strict-Transport-Security on HTTPS requests; nginx adding it would double it."""
    site = (DEPLOY / "nginx" / "school-points.conf").read_text()
    code_lines = [line for line in site.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code_lines if "strict-transport-security" in line.lower()]


@pytest.mark.parametrize("service", SERVICES)
def test_each_systemd_unit_restarts_on_failure_as_its_own_user_with_the_env_file(service):
    values = unit(f"school-points-{service}.service")
    assert values["Restart"] == ["on-failure"]
    assert values["User"] == ["school-points"]
    assert values["EnvironmentFile"] == ["/etc/school-points/env"]
    assert "school-points-release.service" in values["Requires"][0].split()
    assert "school-points-release.service" in values["After"][0].split()


@pytest.mark.parametrize("process", ["web", "worker", "scheduler", "release"])
def test_systemd_units_run_the_procfiles_commands(process):
    name = f"school-points-{process}.service"
    command = shlex.split(unit(name)["ExecStart"][0])
    command[0] = Path(command[0]).name  # the venv's copy of the same program
    expected = shlex.split(procfile()[process])
    if process == "web":  # the systemd unit binds loopback; gunicorn.conf.py holds the other flags
        assert command == expected[:4] + ["--bind", "127.0.0.1:8000"]
    else:
        assert command == expected


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for path in UNITS.iterdir():
        # The programs must exist for verify: point the units at this checkout's .venv.
        (tmp_path / path.name).write_text(path.read_text().replace(APP_DIR, str(ROOT)))
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        pytest.skip("no .venv in this checkout")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_the_image_is_slim_python_and_runs_as_an_unprivileged_user_with_runtime_requirements_only():
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0].startswith("FROM python:3.11-slim")
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "requirements-dev.txt" not in "\n".join(instructions)
    assert any("pip install" in line and "requirements.txt" in line for line in instructions)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "deploy/.env", "instance"} <= set(ignored)


def test_compose_runs_migrations_before_the_app_and_the_web_on_loopback_only():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", *SERVICES}
    for name in SERVICES:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["env_file"] == ".env"
        assert services[name]["restart"] == "unless-stopped"
    assert services["migrate"]["restart"] == "no"
    assert all(port.startswith("127.0.0.1:") for port in services["web"]["ports"])
    for name in ("postgres", "redis"):
        assert "ports" not in services[name]


@pytest.mark.parametrize("process", ["worker", "scheduler", "release"])
def test_compose_runs_the_procfiles_commands(process):
    service = {"release": "migrate"}.get(process, process)
    assert compose()["services"][service]["command"] == shlex.split(procfile()[process])
