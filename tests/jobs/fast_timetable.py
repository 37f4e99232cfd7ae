"""A scheduler timetable for tests: the outbox sweep every second (the real one: school_points.ops.timetable)."""

from rq import cron

from school_points.ops.sweep import sweep_outbox
from school_points.platform.queue import QUEUE_NAME

cron.register(sweep_outbox, QUEUE_NAME, interval=1, job_timeout=60)
