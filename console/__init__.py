"""HTML adapter for school staff: the staff console (学校后台) at /console/ (docs/CONSOLE.md).

Server-rendered pages in Chinese over the same services, schemas (`staffkit`), admin accounts,
tokens and campus scope as the admin API. `bp` is registered at /console; `init_app` adds what
the console needs from the app (CSRF protection, template helpers).
"""

from flask import Blueprint

from .assets import ConsoleBlueprint

bp: Blueprint = ConsoleBlueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# The guard, the error pages and the views attach themselves to `bp`; imported after it exists.
from . import errors, session  # noqa: E402,F401
from .kit import init_app  # noqa: E402,F401

# isort: split
# Screens. One module per screen; add yours in a new line (docs/CONSOLE.md, "Adding a screen").
from . import admins as _admins  # noqa: E402,F401
from . import audit as _audit  # noqa: E402,F401
from . import classes as _classes  # noqa: E402,F401
from . import dashboard as _dashboard  # noqa: E402,F401
from . import families as _families  # noqa: E402,F401
from . import goods as _goods  # noqa: E402,F401
from . import notifications as _notifications  # noqa: E402,F401
from . import redemptions as _redemptions  # noqa: E402,F401
from . import reports as _reports  # noqa: E402,F401
from . import roster as _roster  # noqa: E402,F401
from . import settings as _settings  # noqa: E402,F401
from . import students as _students  # noqa: E402,F401
from . import teachers as _teachers  # noqa: E402,F401
