"""Real `ghee worker` processes draining real jobs, including one killed with SIGKILL."""

import re
import signal
import subprocess

import pytest

from ghee.content.models import Item, ItemLocale, Job
from ghee.core.models import OutboxEvent
from tests.processes import output_of, start_worker, stop, wait_for

pytestmark = pytest.mark.slow


def post(api, token, body):
    return api.post("/v2/content/", body, format="json", HTTP_AUTHORIZATION=f"Token {token}")


def job_status(api, token, location):
    return api.get(location, HTTP_AUTHORIZATION=f"Token {token}").json()


def test_job_lifecycle_through_a_real_worker(api, committed, write_token, team_members):
    response = post(
        api,
        write_token,
        {"key": "team_members", "status": "published", "fields": [{"name": "Ann"}]},
    )
    assert response.status_code == 202
    location = response["Location"]
    before = job_status(api, write_token, location)
    assert before["status"] == "pending"
    assert before["attempts"] == 0 and before["started_at"] is None

    worker = start_worker()
    try:
        assert wait_for(lambda: job_status(api, write_token, location)["status"] == "succeeded")
    finally:
        output = stop(worker)
    after = job_status(api, write_token, location)
    assert after["attempts"] == 1, output
    assert after["started_at"] and after["finished_at"]
    (item_id,) = after["item_ids"]
    assert ItemLocale.objects.get(item_id=item_id).published_data["name"] == "Ann"
    # SIGTERM let it finish and exit cleanly.
    assert worker.returncode == 0, output


def test_sigkilled_worker_loses_nothing_and_duplicates_nothing(
    api, committed, write_token, team_members
):
    """~250 items in 210 jobs; kill -9 the worker while a batch is marked running."""
    names = []
    for n in range(200):
        names.append(f"single-{n}")
        response = post(api, write_token, {"key": "team_members", "fields": [{"name": names[-1]}]})
        assert response.status_code == 202
    for batch in range(10):
        chunk = [f"bulk{batch}-{n}" for n in range(5)]
        names += chunk
        response = post(
            api,
            write_token,
            {"key": "team_members", "status": "published", "fields": [{"name": n} for n in chunk]},
        )
        assert response.status_code == 202
    total_jobs = Job.objects.count()
    env = {"GHEE_JOB_LEASE_SECONDS": 2, "GHEE_JOB_BATCH_SIZE": 10}

    first = start_worker(**env)
    try:
        # Wait until some jobs are done and a batch is in flight (marked running, not yet
        # committed), then kill the worker hard.
        caught = wait_for(
            lambda: (
                Job.objects.filter(status="succeeded").exists()
                and Job.objects.filter(status="running").exists()
            ),
            60,
            0.002,
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert caught, "never saw a batch in flight"
    interrupted = set(Job.objects.filter(status="running").values_list("id", flat=True))
    assert interrupted, "the kill landed between batches; nothing was in flight"
    assert Job.objects.filter(status="succeeded").count() < total_jobs

    second = start_worker(**env)
    try:
        assert wait_for(
            lambda: Job.objects.filter(status="succeeded").count() == total_jobs, 120
        ), list(Job.objects.exclude(status="succeeded").values("id", "status", "attempts"))
    finally:
        output = stop(second)

    stored = list(ItemLocale.objects.values_list("data__name", flat=True))
    assert sorted(stored) == sorted(names), output
    assert Item.objects.count() == len(names)
    # Outbox events commit with their items: one per item, none for the killed attempt.
    event_items = sorted(OutboxEvent.objects.values_list("data__item_id", flat=True))
    assert event_items == sorted(Item.objects.values_list("id", flat=True))
    # The jobs the kill interrupted were taken up again after their lease lapsed.
    retried = set(Job.objects.filter(pk__in=interrupted, attempts=2).values_list("id", flat=True))
    assert retried == interrupted


def wait_started(process: subprocess.Popen) -> None:
    started = wait_for(lambda: "Starting ghee worker" in output_of(process), 60, 0.05)
    assert started, output_of(process)


def test_two_workers_share_the_work_and_apply_each_job_once(
    api, committed, write_token, team_members
):
    env = {"GHEE_JOB_BATCH_SIZE": 5, "GHEE_LOG_LEVEL": "INFO"}
    workers = [start_worker(**env), start_worker(**env)]
    names = []
    try:
        for worker in workers:
            wait_started(worker)
        for n in range(150):
            names.append(f"w{n}")
            response = post(
                api, write_token, {"key": "team_members", "fields": [{"name": names[-1]}]}
            )
            assert response.status_code == 202
        assert wait_for(lambda: Job.objects.filter(status="succeeded").count() == len(names), 120)
    finally:
        outputs = [stop(worker) for worker in workers]
    assert sorted(ItemLocale.objects.values_list("data__name", flat=True)) == sorted(names)
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}, outputs
    assert all(worker.returncode == 0 for worker in workers), outputs
    # Each says, as it stops, how many jobs it finished: both took part, none twice.
    finished = [int(re.search(r"(\d+) jobs finished", output).group(1)) for output in outputs]
    assert all(finished) and sum(finished) == len(names), outputs


def test_sigterm_finishes_the_running_batch_then_exits(api, committed, write_token, team_members):
    for n in range(200):
        response = post(api, write_token, {"key": "team_members", "fields": [{"name": f"t{n}"}]})
        assert response.status_code == 202
    worker = start_worker(GHEE_JOB_BATCH_SIZE=10)
    try:
        caught = wait_for(lambda: Job.objects.filter(status="running").exists(), 60, 0.002)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert caught
    assert worker.returncode == 0, output_of(worker)
    # The batch it was running when told to stop was finished, not abandoned ...
    assert not Job.objects.filter(status="running").exists()
    # ... and it took no more work after that.
    assert Job.objects.filter(status="pending").exists()
    finished = Job.objects.filter(status="succeeded").count()
    assert Item.objects.count() == finished
