"""How a view that changed something ends: commit (with its idempotency record), then answer."""

from flask import g, jsonify

from school_points.platform import uow
from school_points.platform.extensions import db
from school_points.platform.queue import enqueue


def respond(body, status=200, *, jobs=()):
    """Commit the request's transaction (with its idempotency record); the unit of work then runs
    what it owes (notifications to deliver, and `jobs` to enqueue)."""
    record = g.pop("idempotency_record", None)
    if record is not None:
        record.status_code = status
        record.response = body
    for job in jobs:
        uow.after_commit(db.session, enqueue, job[0], *job[1:])
    db.session.commit()
    response = jsonify(body)
    response.status_code = status
    return response
