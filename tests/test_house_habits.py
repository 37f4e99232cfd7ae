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
