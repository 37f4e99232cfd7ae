"""The arrows between packages (docs/ARCHITECTURE.md, contracts in pyproject.toml), checked on
every test run: an import that breaks one fails here with the contract and the import named."""

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"

# What an HTTP adapter handles and the domain must not see: the request, responses, HTTP errors.
HTTP_NAMES = frozenset(
    {
        "request",
        "Request",
        "Response",
        "jsonify",
        "make_response",
        "abort",
        "redirect",
        "send_file",
        "session",
        "HTTPException",
    }
)
HTTP_MODULES = ("werkzeug.wrappers", "werkzeug.exceptions", "flask.wrappers", "flask.sessions")


def lint(config):
    return lint_imports(config_filename=str(config), no_cache=True, no_logo=True)


def test_import_contracts_are_kept():
    """Layered capabilities, no adapter or web kit in the domain, webkit on platform only,
    adapters independent, no import circle (the report above the failure says which broke)."""
    assert lint(PYPROJECT) == 0


def test_a_contract_the_code_breaks_is_reported(tmp_path):
    """The check can fail: forbid an arrow that exists (the mall pays through the ledger)."""
    config = tmp_path / "pyproject.toml"
    config.write_text(
        PYPROJECT.read_text(encoding="utf-8")
        + """
[[tool.importlinter.contracts]]
name = "deliberately broken"
type = "forbidden"
source_modules = ["school_points.mall"]
forbidden_modules = ["school_points.accounts"]
""",
        encoding="utf-8",
    )
    assert lint(config) == 1


def http_uses(source):
    """(line, name) of every Flask/werkzeug request, response or HTTP-error name a module imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("flask", "werkzeug"):
            if node.module.startswith(HTTP_MODULES):
                found.append((node.lineno, node.module))
            found += [(node.lineno, alias.name) for alias in node.names if alias.name in HTTP_NAMES]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith(HTTP_MODULES)]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in HTTP_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id == "flask"
        ):
            found.append((node.lineno, f"flask.{node.attr}"))
    return found


def test_the_domain_touches_no_request_or_response():
    """Values from the request are passed in by the adapters; only webkit and adapters speak HTTP."""
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in sorted((ROOT / "school_points").rglob("*.py"))
        if (uses := http_uses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_request_check_sees_a_request_import():
    assert http_uses("from flask import current_app, request\nimport flask\nflask.jsonify({})\n") == [
        (1, "request"),
        (3, "flask.jsonify"),
    ]
