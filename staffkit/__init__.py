"""What the two staff adapters (the admin JSON API, `admin/`, and the staff console, `console/`)
share: the bodies and queries they validate and the shapes they show, as marshmallow schemas.

One rule is written once: the console loads a form through the same schema the API loads a JSON
body through. This package imports the domain and `webkit`, never an adapter.
"""
