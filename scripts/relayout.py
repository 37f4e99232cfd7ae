#!/usr/bin/env python3
"""Rewrite imports and dotted module paths from the flat `school_points` layout to the one
grouped by capability (December 2026).

Run from the repository root on any checkout or branch made before the move:

    python scripts/relayout.py [PATH ...]      # default: every .py/.md/.mako/.sh/Procfile/.cfg/.toml file

It rewrites, in place:
- `from school_points.OLD import x` and `import school_points.OLD` to the new module;
- `from school_points import a, b` (module objects) into one line per new package;
- `from school_points.httpkit import ...` into the webkit modules each name now lives in;
- dotted paths in strings, comments and docs (`school_points.jobs.sweep.sweep_outbox`,
  `mock.patch("school_points.clock.utcnow")`) and file paths (`school_points/ledger.py`).
It is idempotent: a file already in the new layout is left alone. Relative imports inside the
old `school_points/` are not handled here (the move turned them into absolute ones first).
Modules whose last name changed (`wechat_clients` -> `wechat.clients`, `mall` -> `mall.catalogue`,
`cron` -> `ops.timetable`, `jobs.media` -> `media.wechat_media`) keep their local name through
`import ... as old_name` only where the old name was imported as a module object; review those.
"""

import re
import sys
from pathlib import Path

# Old module (relative to school_points) -> new module (relative to school_points).
MODULE_MAP = {
    # platform: what every capability stands on
    "config": "platform.config",
    "clock": "platform.clock",
    "errors": "platform.errors",
    "extensions": "platform.extensions",
    "db_setup": "platform.db_setup",
    "autocommit": "platform.autocommit",
    "redis_conn": "platform.redis_conn",
    "redis_retry": "platform.redis_retry",
    "ratelimit": "platform.ratelimit",
    "codes": "platform.codes",
    "logsafe": "platform.logsafe",
    "health": "platform.health",
    "jobs.queue": "platform.queue",
    "models.base": "platform.columns",
    # school: the organisation itself
    "actors": "school.actors",
    "audit": "school.audit",
    "audit_trail": "school.audit_trail",
    "campuses": "school.campuses",
    "scoping": "school.scoping",
    "settings": "school.settings",
    "settings_changes": "school.settings_changes",
    # accounts: the points ledger
    "ledger": "accounts.ledger",
    "reconcile": "accounts.reconcile",
    # people
    "admins": "people.admins",
    "classes": "people.classes",
    "students": "people.students",
    "teachers": "people.teachers",
    "guardians": "people.guardians",
    "users": "people.users",
    "tokens": "people.tokens",
    "oa_users": "people.oa_users",
    "account_links": "people.account_links",
    "names": "people.names",
    # wechat
    "wechat_clients": "wechat.clients",
    "wechat_tokens": "wechat.access_tokens",
    "wechat_cli": "wechat.cli",
    "notifications": "wechat.notifications",
    "delivery": "wechat.delivery",
    "jobs.notify": "wechat.notify",
    "jobs.followers": "wechat.followers",
    # media
    "uploads": "media.uploads",
    "jobs.media": "media.wechat_media",
    # points
    "adjustments": "points.adjustments",
    "birthday": "points.birthday",
    "evaluation": "points.evaluation",
    "expiry": "points.expiry",
    "growth": "points.growth",
    "referral": "points.referral",
    "signin": "points.signin",
    "jobs.oa_checkins": "points.oa_checkins",
    # mall
    "goods": "mall.goods",
    "mall": "mall.catalogue",
    "redemption": "mall.redemption",
    "redemption_pg": "mall.redemption_pg",
    "order_desk": "mall.order_desk",
    # office
    "reports": "office.reports",
    # ops
    "cli": "ops.cli",
    "worker": "ops.worker",
    "scheduler": "ops.scheduler",
    "cron": "ops.timetable",
    "jobs.sweep": "ops.sweep",
    "demo": "ops.demo",
}

# httpkit was split by idea into webkit/; abandon_work is about committing and went to platform.
HTTPKIT_NAMES = {
    "ApiError": "webkit.errors",
    "error_response": "webkit.errors",
    "register_error_handlers": "webkit.errors",
    "database_unreachable": "webkit.errors",
    "database_unavailable_response": "webkit.errors",
    "DATABASE_RETRY_AFTER_SECONDS": "webkit.errors",
    "STATUS_BY_KIND": "webkit.errors",
    "HTTP_ERRORS": "webkit.errors",
    "json_body": "webkit.bodies",
    "page_args": "webkit.pagination",
    "encode_cursor": "webkit.pagination",
    "decode_cursor": "webkit.pagination",
    "keyset_page": "webkit.pagination",
    "page": "webkit.pagination",
    "MAX_INT": "webkit.pagination",
    "MAX_BIGINT": "webkit.pagination",
    "idempotent": "webkit.idempotency",
    "respond": "webkit.responses",
    "NoCookieSession": "webkit.sessions",
    "abandon_work": "school_points.platform.work",
}
OTHER_MODULES = {"school_points.httpkit": "webkit", "school_points.security_headers": "webkit.security_headers"}

NEW_PACKAGES = {new.split(".")[0] for new in MODULE_MAP.values()}
NEW_SUBMODULES = {}
for _new in MODULE_MAP.values():
    _package, _, _module = _new.partition(".")
    NEW_SUBMODULES.setdefault(_package, set()).add(_module)

_KEYS = sorted(MODULE_MAP, key=len, reverse=True)


def _new_module(old):
    """The new dotted path (relative to school_points) for an old one, or None."""
    return MODULE_MAP.get(old)


def _already_new(module, names=()):
    """Whether `school_points.<module>` is already in the new layout (a new package or module)."""
    head = module.split(".")[0]
    if head in NEW_PACKAGES and (module != head or all(n in NEW_SUBMODULES[head] for n in names)):
        return module in NEW_PACKAGES or module in MODULE_MAP.values()
    return False


def _split_names(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def _rewrite_from_school_points(indent, names_text):
    """`from school_points import a, b as c` -> one line per package holding the modules."""
    by_package = {}
    for item in _split_names(names_text):
        name, _, alias = (part.strip() for part in item.partition(" as "))
        new = _new_module(name)
        if new is None:
            if name in NEW_PACKAGES or name == "models":
                by_package.setdefault("school_points", []).append(item)
                continue
            print(f"left for a hand fix: from school_points import {name}", file=sys.stderr)
            by_package.setdefault("school_points", []).append(item)
            continue
        package, _, module = new.rpartition(".")
        if module != name and not alias:
            alias = name  # keep the old local name; review these
        by_package.setdefault(f"school_points.{package}", []).append(
            f"{module} as {alias}" if alias and alias != module else module
        )
    return "\n".join(f"{indent}from {pkg} import {', '.join(items)}" for pkg, items in by_package.items())


_FROM = re.compile(
    r"^(?P<indent>[ \t]*)from (?P<module>school_points(?:\.[\w.]+)?) import "
    r"(?P<names>[^(\n]+?)(?P<tail>[ \t]*#.*)?$",
    re.M,
)
_FROM_PAREN = re.compile(r"^(?P<indent>[ \t]*)from (?P<module>school_points\.[\w.]+) import \(", re.M)
_IMPORT = re.compile(r"^(?P<indent>[ \t]*)import school_points\.(?P<module>[\w.]+)", re.M)


def _from_line(match):
    indent, module, names, tail = match["indent"], match["module"], match["names"], match["tail"] or ""
    if module == "school_points":
        return _rewrite_from_school_points(indent, names) + tail
    if module == "school_points.httpkit":
        grouped = {}
        for item in _split_names(names):
            target = HTTPKIT_NAMES[item.partition(" as ")[0].strip()]
            grouped.setdefault(target, []).append(item)
        return "\n".join(f"{indent}from {target} import {', '.join(items)}" for target, items in grouped.items()) + tail
    if module in OTHER_MODULES:
        return f"{indent}from {OTHER_MODULES[module]} import {names}{tail}"
    old = module[len("school_points.") :]
    if _already_new(old, [n.partition(" as ")[0].strip() for n in _split_names(names)]):
        return match[0]
    new = _new_module(old)
    if new is not None:
        return f"{indent}from school_points.{new} import {names}{tail}"
    # `from school_points.jobs import oa_checkins`: module objects inside an old package
    items = []
    for item in _split_names(names):
        name, _, alias = (part.strip() for part in item.partition(" as "))
        sub = _new_module(f"{old}.{name}")
        if sub is None:
            return match[0]
        items.append((sub, alias or name))
    lines = []
    for sub, alias in items:
        package, _, module_name = sub.rpartition(".")
        lines.append(
            f"{indent}from school_points.{package} import {module_name}"
            + (f" as {alias}" if alias != module_name else "")
        )
    return "\n".join(lines) + tail


def _from_paren(match):
    old = match["module"][len("school_points.") :]
    if _already_new(old):
        return match[0]
    new = _new_module(old)
    return match[0] if new is None else f"{match['indent']}from school_points.{new} import ("


def _import_line(match):
    old = match["module"]
    if _already_new(old):
        return match[0]
    for key in _KEYS:
        if old == key or old.startswith(key + "."):
            return f"{match['indent']}import school_points.{MODULE_MAP[key]}{old[len(key) :]}"
    return match[0]


def _dotted(match):
    key = match["key"]
    rest = match["rest"] or ""
    head = key.split(".")[0]
    if head in NEW_PACKAGES and rest[1:].split(".")[0] in NEW_SUBMODULES.get(head, ()):
        return match[0]  # already new: school_points.mall.catalogue
    if head in NEW_PACKAGES and not rest and re.match(r"\s+import\b", match.string[match.end() :]):
        return match[0]  # already new: from school_points.mall import catalogue
    return f"{match['prefix']}{MODULE_MAP[key].replace('.', match['sep'])}{rest}"


_DOTTED = re.compile(
    r"(?P<prefix>school_points(?P<sep>[./]))(?P<key>"
    + "|".join(re.escape(k) for k in _KEYS)
    + r")(?![\w])(?P<rest>[./]\w+)?"
)


def _fix_separators(text):
    """`school_points/jobs/sweep.py`: the key was written with `/` between its parts."""
    for key in _KEYS:
        if "." in key:
            text = re.sub(
                r"school_points/" + re.escape(key.replace(".", "/")) + r"(?![\w])",
                "school_points/" + MODULE_MAP[key].replace(".", "/"),
                text,
            )
    return text


def _dotted_sub(match):
    # Separators of the key follow the prefix's separator (`.` for modules, `/` for paths).
    key, sep = match["key"], match["sep"]
    if sep == "/" and "." in key:
        return match[0]  # `school_points/models.base` is not a path
    return _dotted(match)


def rewrite(text):
    """The text with every old module path replaced by the new one."""
    text = _FROM.sub(_from_line, text)
    text = _FROM_PAREN.sub(_from_paren, text)
    text = _IMPORT.sub(_import_line, text)
    text = _fix_separators(text)
    text = _DOTTED.sub(_dotted_sub, text)
    text = text.replace("school_points.httpkit", "webkit").replace("school_points/httpkit.py", "webkit/")
    text = text.replace("school_points.security_headers", "webkit.security_headers")
    text = text.replace("school_points/security_headers.py", "webkit/security_headers.py")
    return text


def _files(paths):
    suffixes = {".py", ".md", ".mako", ".sh", ".cfg", ".toml", ".ini", ".txt"}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if ".venv" in child.parts or ".git" in child.parts or child.name == "relayout.py":
                    continue
                if child.is_file() and (child.suffix in suffixes or child.name in {"Procfile", "Makefile"}):
                    yield child
        elif path.is_file():
            yield path


def main(argv):
    changed = 0
    for path in _files(argv or ["."]):
        old = path.read_text(encoding="utf-8")
        new = rewrite(old)
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed += 1
            print(path)
    print(f"{changed} files rewritten", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
