"""How a view that changed something ends: commit (with its idempotency record), then answer."""
from flask import g, jsonify

from school_points.platform.queue import enqueue
from school_points.platform.work import commit_work


def respond(body, status=200, *, jobs=()):
    """Commit the request's transaction (with its idempotency record), then enqueue jobs."""
    record = g.pop("idempotency_record", None)
    if record is not None:
        record.status_code = status
        record.response = body
    commit_work()
    for job in jobs:
        enqueue(job[0], *job[1:])
    response = jsonify(body)
    response.status_code = status
    return response
