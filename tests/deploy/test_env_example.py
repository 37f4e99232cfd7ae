"""deploy/.env.example names every environment variable the code reads, and nothing else.

The variables read are found in the source, not listed by hand: school_points/platform/config.py
(the one module that reads the environment) and gunicorn.conf.py are parsed, and every
`env.get("NAME")`, `os.environ.get("NAME")`, `os.getenv("NAME")`, `env["NAME"]`, `"NAME" in env`
and call handed the environment with a literal name (`_seconds(env, "NAME", 300)`) counts; so
does each `${NAME}` compose.yaml takes from the env file.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / ".env.example"
READERS = [ROOT / "school_points" / "platform" / "config.py", ROOT / "gunicorn.conf.py"]
COMPOSE = ROOT / "deploy" / "compose.yaml"
VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")
ENVIRONMENT_NAMES = {"env", "environ", "environment"}


def _is_environment(node) -> bool:
    """`env` (config.py's copy of os.environ), `environ`, or `os.environ` itself."""
    if isinstance(node, ast.Name):
        return node.id in ENVIRONMENT_NAMES
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _literal_name(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and VARIABLE.match(node.value):
        return node.value
    return None


def variables_read(path) -> set[str]:
    """Names of the environment variables the module at `path` reads (see the module docstring)."""
    found = set()
    for node in ast.walk(ast.parse(Path(path).read_text(), str(path))):
        candidates = []
        if isinstance(node, ast.Call):
            func = node.func
            is_getter = isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault")
            if is_getter and _is_environment(func.value) or ast.unparse(func) == "os.getenv":
                candidates = node.args[:1]
            elif any(_is_environment(arg) for arg in node.args):
                candidates = node.args
        elif isinstance(node, ast.Subscript) and _is_environment(node.value):
            candidates = [node.slice]
        elif (
            isinstance(node, ast.Compare)
            and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
            and any(_is_environment(c) for c in node.comparators)
        ):
            candidates = [node.left]
        found.update(name for name in map(_literal_name, candidates) if name)
    return found


def compose_variables() -> set[str]:
    """The variables compose.yaml interpolates from the env file (`${NAME}`, `${NAME:?...}`)."""
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))


def variables_named(path=EXAMPLE) -> set[str]:
    """`NAME=value` lines, and commented `# NAME=value` ones (a default left unset)."""
    pattern = re.compile(r"^\s*(?:#\s*)?([A-Z][A-Z0-9_]*)=")
    return {m.group(1) for line in Path(path).read_text().splitlines() if (m := pattern.match(line))}


def read_by() -> dict[str, list[str]]:
    readers = {}
    for path in READERS:
        for name in variables_read(path):
            readers.setdefault(name, []).append(str(path.relative_to(ROOT)))
    for name in compose_variables():
        readers.setdefault(name, []).append(str(COMPOSE.relative_to(ROOT)))
    return readers


def test_env_example_names_every_variable_the_code_reads():
    readers = read_by()
    missing = sorted(set(readers) - variables_named())
    assert not missing, (
        f"deploy/.env.example does not name {len(missing)} variable(s) the code reads: {', '.join(missing)}. "
        "Add a commented line for each (# NAME=default, with a comment saying what it does): "
        + "; ".join(f"{name} (read in {', '.join(readers[name])})" for name in missing)
    )


def test_env_example_names_no_variable_that_nothing_reads():
    unread = sorted(variables_named() - set(read_by()))
    assert not unread, (
        f"deploy/.env.example names {len(unread)} variable(s) that neither config.py, gunicorn.conf.py nor "
        f"compose.yaml reads: {', '.join(unread)} (a typo, or a variable no longer used?)"
    )


def test_the_reader_finds_each_way_config_reads_a_variable():
    """The parser is what makes the two tests above mean anything: it must see each form used."""
    names = variables_read(READERS[0])
    assert {"SECRET_KEY", "DATABASE_URL", "WECHAT_MAX_MESSAGE_AGE", "MP_LOGIN_RATE_LIMIT", "DB_POOL_SIZE"} <= names
    assert {"WEB_CONCURRENCY", "WEB_THREADS"} <= variables_read(READERS[1])
    assert "POSTGRES_PASSWORD" in compose_variables()


def test_the_reader_sees_every_spelling_of_an_environment_read(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text(
        "import os\n"
        "env = dict(os.environ)\n"
        'a = env.get("ALPHA", "1")\n'
        'b = os.environ.get("BRAVO")\n'
        'c = os.getenv("CHARLIE")\n'
        'd = os.environ["DELTA"]\n'
        'e = "ECHO" in env\n'
        'f = _seconds(env, "FOXTROT", 300)\n'
        "g = env.get(name)\n"
        'h = settings.get("NOT_ENV")\n'
    )
    assert variables_read(module) == {"ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT"}


def test_commented_defaults_count_as_named_and_prose_does_not(tmp_path):
    example = tmp_path / ".env.example"
    example.write_text("# Set THIS to something.\nAPP_ENV=production\n# WORKER_NICE=10\n#   HSTS_MAX_AGE_SECONDS=0\n")
    assert variables_named(example) == {"APP_ENV", "WORKER_NICE", "HSTS_MAX_AGE_SECONDS"}
