"""House habits checked on every test run, so a reviewer does not have to: the project's metadata
agrees with the files the project is installed from."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(name):
    """The requirement lines of a requirements file (comments and `-r` includes left out)."""
    lines = (line.strip() for line in (ROOT / name).read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-r"))]


def project():
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]


def test_pyproject_lists_the_same_runtime_pins_as_requirements_txt():
    """A dependency added to requirements.txt (the install source) and not to pyproject.toml, or the
    other way round, is named here instead of leaving the metadata quietly wrong."""
    assert sorted(project()["dependencies"]) == sorted(pins("requirements.txt"))


def test_pyproject_dev_extra_lists_the_same_pins_as_requirements_dev_txt():
    assert sorted(project()["optional-dependencies"]["dev"]) == sorted(pins("requirements-dev.txt"))


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def test_every_domain_error_kind_is_listed_and_has_an_http_status(app):
    """A new error kind that no adapter maps would answer a generic 409 instead of its status; a kind
    missing from KINDS means the list a newcomer reads is wrong. Every module is imported first, so
    every error class is seen."""
    import importlib
    import pkgutil

    import school_points
    from school_points.platform.errors import KINDS, DomainError
    from webkit.errors import STATUS_BY_KIND

    for package in (
        school_points,
        *map(importlib.import_module, ("webkit", "staffkit", "admin", "console", "miniprogram_api", "wechat_bot")),
    ):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    used = {error.__name__: error.kind for error in (DomainError, *all_subclasses(DomainError))}
    assert {name: kind for name, kind in used.items() if kind not in KINDS} == {}
    assert sorted(KINDS - STATUS_BY_KIND.keys()) == []


def test_ruff_finds_nothing_to_complain_about():
    """The rules in pyproject.toml ([tool.ruff]) hold for the whole tree: a newly unused import, a
    public domain function without a return type, or a line past 120 columns fails here with
    ruff's own report of file, line and rule."""
    import shutil
    import subprocess
    import sys

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: scripts/bootstrap.sh (requirements-dev.txt) installs it"
    result = subprocess.run(
        [ruff, "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    formatted = subprocess.run([ruff, "format", "--no-cache", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert formatted.returncode == 0, "run `ruff format .`:\n" + formatted.stdout + formatted.stderr
