"""A request's id travels with the jobs it queues into the worker's log lines; the worker's job
counts reach /metrics."""

import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from school_points.people import tokens
from school_points.platform.jsonlog import REQUEST_ID, JsonFormatter
from school_points.platform.queue import enqueue, get_queue


def explode():
    raise RuntimeError("a job that fails")


def quiet():
    logging.getLogger("tests.job").info("working")


def test_the_worker_logs_a_job_with_the_id_of_the_request_that_queued_it(
    client, throwaway_redis, fake_wechat, notifications_on, follower, make_goods, run_worker, caplog
):
    user, student = follower
    token, _ = tokens.issue("user", user.id)
    response = client.post(
        "/api/v1/redemptions",
        json={"student_id": student.id, "goods_id": make_goods(points=5).id},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "obs-1", "X-Request-ID": "req-from-edge-1"},
    )
    assert response.status_code == 201 and response.headers["X-Request-ID"] == "req-from-edge-1"
    [job] = get_queue().get_jobs()
    assert job.meta["request_id"] == "req-from-edge-1"
    caplog.clear()
    with caplog.at_level(logging.INFO):
        run_worker()
    job_lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "job"]
    assert [(line["job"], line["outcome"], line["request_id"]) for line in job_lines] == [
        ("school_points.wechat.notify.deliver", "done", "req-from-edge-1")
    ]
    # RQ's own lines about running that job carry it too (its "dequeued" line comes before RQ
    # hands the job over, so before the id is known)
    rq_lines = [r for r in caplog.records if r.name.startswith("rq.") and "Job OK" in r.getMessage()]
    assert rq_lines and all(r.request_id == "req-from-edge-1" for r in rq_lines)
    assert REQUEST_ID.get() is None  # not left behind for the next job


def test_jobs_queued_outside_a_request_carry_no_id_and_jobs_of_one_batch_share_it(
    app, throwaway_redis, run_worker, caplog
):
    from school_points.platform.queue import enqueue_each

    enqueue(quiet)
    token = REQUEST_ID.set("batch-req")
    try:
        enqueue_each(lambda_free_job, [1, 2])
    finally:
        REQUEST_ID.reset(token)
    metas = sorted((job.meta or {}).get("request_id") or "-" for job in get_queue().get_jobs())
    assert metas == ["-", "batch-req", "batch-req"]
    with caplog.at_level(logging.INFO):
        run_worker()
    ids = sorted(r.request_id or "-" for r in caplog.records if r.name == "job")
    assert ids == ["-", "batch-req", "batch-req"]


def lambda_free_job(number):
    return number


def test_jobs_run_and_failed_are_counted_across_workers_in_metrics(app, client, throwaway_redis, run_worker):
    for job in (quiet, quiet, explode):
        enqueue(job)
    run_worker()
    enqueue(explode)
    run_worker()  # another worker (another process, in production): the counts add up in Redis
    for collector in app.extensions["metrics_collectors"]:
        getattr(collector, "forget", lambda: None)()
    text = client.get("/metrics").text
    samples = {
        (sample.name, sample.labels["job"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("school_points_jobs_")
    }
    prefix = "tests.jobs.test_job_observability."
    assert samples == {
        ("school_points_jobs_run_total", prefix + "quiet"): 2,
        ("school_points_jobs_run_total", prefix + "explode"): 2,
        ("school_points_jobs_failed_total", prefix + "explode"): 2,
    }
    assert get_queue() is not None
