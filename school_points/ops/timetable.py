"""The scheduler's timetable, run by `flask --app wsgi scheduler` (school_points/ops/scheduler.py,
which rides out Redis outages; `rq cron school_points.ops.timetable` reads it too but exits on one).

Jobs run on the worker (`flask --app wsgi worker`), inside the app context. The daily jobs run
hourly rather than at one clock time: each is idempotent (ledger keys, reminded_at), so repeats
cost nothing, and whatever the school's timezone, a day's work is done within its first hour.
"""

from rq import cron

from school_points.office.backups import nightly_backup
from school_points.office.erasure import erase_expired_archives
from school_points.office.report_rollup import roll_up_days
from school_points.ops.sweep import prune_processed_messages, sweep_media, sweep_outbox
from school_points.platform.queue import QUEUE_NAME
from school_points.points.birthday import award_birthdays
from school_points.points.expiry import expire_due, remind_expiring

cron.register(sweep_outbox, QUEUE_NAME, interval=60, job_timeout=300)
cron.register(sweep_media, QUEUE_NAME, interval=600, job_timeout=300)
cron.register(expire_due, QUEUE_NAME, cron="5 * * * *", job_timeout=1800)
cron.register(remind_expiring, QUEUE_NAME, cron="15 * * * *", job_timeout=1800)
cron.register(award_birthdays, QUEUE_NAME, cron="25 * * * *", job_timeout=1800)
cron.register(prune_processed_messages, QUEUE_NAME, cron="35 * * * *", job_timeout=600)
# Hourly, like the daily jobs: it backs up once a school day, at its first run from 02:00 school time.
cron.register(nightly_backup, QUEUE_NAME, cron="50 * * * *", job_timeout=3 * 3600)
cron.register(erase_expired_archives, QUEUE_NAME, cron="45 * * * *", job_timeout=1800)
# Hourly: rolls up the reports' totals of closed days that have none (new days, invalidated days).
cron.register(roll_up_days, QUEUE_NAME, cron="55 * * * *", job_timeout=1800)
