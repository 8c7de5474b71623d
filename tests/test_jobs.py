"""The job resource and the processing rules: fencing, order, retries, late failures."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ghee.accounts.services import create_token
from ghee.content.models import Item, ItemLocale, Job
from ghee.content.write import jobs, pipeline
from ghee.content.write.jobs import claim_jobs, process_batch, run_pending_jobs
from tests.conftest import make_collection


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def create(api, token, fields, key="team_members", status="published"):
    response = api.post(
        "/v2/content/",
        {"key": key, "status": status, "fields": fields},
        format="json",
        **auth(token),
    )
    assert response.status_code == 202, response.json()
    return response["Location"]


def job_at(location) -> Job:
    return Job.objects.get(pk=int(location.split("/")[-2]))


# --- GET /v2/jobs/ ----------------------------------------------------------------------------


def test_job_resource_shows_status_items_and_timestamps(api, write_token, team_members):
    location = create(api, write_token, [{"name": "a"}, {"name": "b"}])
    pending = api.get(location, **auth(write_token))
    assert pending.status_code == 200
    job = job_at(location)
    assert pending.json() == {
        "id": job.pk,
        "kind": "create",
        "status": "pending",
        "collection": "team_members",
        "item_ids": [],
        "errors": [],
        "attempts": 0,
        "created_at": pending.json()["created_at"],
        "started_at": None,
        "finished_at": None,
    }
    assert pending.json()["created_at"].endswith("Z")
    run_pending_jobs()
    done = api.get(location, **auth(write_token)).json()
    assert done["status"] == "succeeded"
    assert done["item_ids"] == list(Item.objects.order_by("id").values_list("id", flat=True))
    assert done["attempts"] == 1 and done["started_at"] and done["finished_at"]


def test_job_urls_without_slash_redirect(api, write_token, team_members):
    location = create(api, write_token, [{"name": "a"}])
    response = api.get(location.rstrip("/"), **auth(write_token))
    assert response.status_code == 301 and response["Location"] == location


def test_jobs_of_another_organization_are_404(api, write_token, team_members, org_locales):
    location = create(api, write_token, [{"name": "a"}])
    stranger = create_token(org_locales, "write")[1]
    response = api.get(location, **auth(stranger))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert api.get("/v2/jobs/", **auth(stranger)).json()["data"] == []


@pytest.mark.parametrize("job_id", ["abc", "0x1", "999999", "1e3", "-1", "0", "\u0661"])
def test_unknown_or_malformed_job_ids_are_404(api, write_token, job_id, db):
    response = api.get(f"/v2/jobs/{job_id}/", **auth(write_token))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_jobs_need_a_write_token_in_the_header(api, write_token, read_token, team_members):
    location = create(api, write_token, [{"name": "a"}])
    assert api.get(location, **auth(read_token)).status_code == 401
    assert api.get(location, {"auth_token": write_token}).status_code == 401
    assert api.get(location).status_code == 401


def test_job_list_filters_by_status_and_pages(api, write_token, team_members, org):
    make_collection(
        org, "refs", [{"key": "to", "type": "reference", "reference_to": "team_members"}]
    )
    for n in range(3):
        create(api, write_token, [{"name": f"n{n}"}])
    run_pending_jobs()
    member = Item.objects.first().pk
    bad = create(api, write_token, [{"to": member}], key="refs")
    Item.objects.filter(pk=member).update(deleted_at=timezone.now())  # deleted after the 202
    run_pending_jobs()

    failed = api.get("/v2/jobs/?status=failed", **auth(write_token)).json()
    assert failed["meta"] == {"count": 1, "previous_page": None, "next_page": None}
    assert [job["id"] for job in failed["data"]] == [job_at(bad).pk]
    everything = api.get("/v2/jobs/", {"page_size": 2}, **auth(write_token)).json()
    assert everything["meta"] == {"count": 4, "previous_page": None, "next_page": 2}
    ids = [job["id"] for job in everything["data"]]
    assert ids == sorted(ids, reverse=True)
    assert api.get("/v2/jobs/?status=nope", **auth(write_token)).status_code == 400
    assert api.get("/v2/jobs/?page=0", **auth(write_token)).status_code == 400


def test_job_paging_follows_the_read_apis_rules_and_errors(
    api, write_token, read_token, team_members
):
    for n in range(3):
        create(api, write_token, [{"name": f"n{n}"}])
    for query in ("page_size=100000", "page_size=0", "limit=101", "page=1&limit=2", "page=x"):
        jobs = api.get(f"/v2/jobs/?{query}", **auth(write_token))
        read = api.get(f"/v2/content/team_members/?{query}", **auth(read_token))
        assert jobs.status_code == read.status_code == 400, query
        assert jobs.json() == read.json(), query
    by_offset = api.get("/v2/jobs/?limit=2&offset=1", **auth(write_token)).json()
    assert by_offset["meta"] == {"count": 3, "next_offset": None, "previous_offset": 0}
    assert len(by_offset["data"]) == 2
    assert len(api.get("/v2/jobs/", **auth(write_token)).json()["data"]) == 3


# --- Processing rules ------------------------------------------------------------------------


def test_reference_deleted_after_acceptance_fails_the_job_with_item_errors(
    api, write_token, team_members, org
):
    make_collection(
        org,
        "teams",
        [{"key": "members", "type": "reference", "reference_to": "team_members", "many": True}],
    )
    create(api, write_token, [{"name": "a"}])
    run_pending_jobs()
    member = Item.objects.get().pk
    location = create(api, write_token, [{"members": []}, {"members": [member]}], key="teams")
    Item.objects.filter(pk=member).update(deleted_at=timezone.now())
    run_pending_jobs()
    job = api.get(location, **auth(write_token)).json()
    assert job["status"] == "failed"
    assert job["errors"] == [
        {
            "index": 1,
            "locale": None,
            "field": "members",
            "message": f'Item {member} does not exist in collection "team_members".',
        }
    ]
    assert job["item_ids"] == []
    assert Item.objects.filter(collection__key="teams").count() == 0  # all or nothing


def test_a_stale_lease_commits_nothing(api, write_token, team_members):
    """Worker A's lease lapsed and worker B took the job: A's late run changes nothing."""
    create(api, write_token, [{"name": "a"}])
    lease_a = claim_jobs()
    Job.objects.filter(pk__in=lease_a.ids).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    lease_b = claim_jobs()
    assert lease_a.ids == lease_b.ids and lease_a.token != lease_b.token
    assert process_batch(lease_a)["skipped"] == 1
    assert not Item.objects.exists()
    process_batch(lease_b)
    assert Item.objects.count() == 1
    # Running the finished batch again creates nothing either.
    process_batch(lease_b)
    assert Item.objects.count() == 1


def test_fencing_is_checked_inside_the_applying_transaction(
    api, write_token, team_members, monkeypatch
):
    """The lease is taken over between 'running' and the apply: nothing is committed."""
    create(api, write_token, [{"name": "a"}])
    lease = claim_jobs()
    real_prepare = pipeline.prepare

    def takeover(ctx):
        real_prepare(ctx)
        Job.objects.filter(pk=ctx.job.pk).update(lease_token="someone-else")

    monkeypatch.setattr(jobs, "prepare", takeover)
    process_batch(lease)
    assert not Item.objects.exists()
    assert Job.objects.get().lease_token == "someone-else"


def test_unexpected_errors_are_retried_with_backoff_then_succeed(
    api, write_token, team_members, monkeypatch
):
    location = create(api, write_token, [{"name": "a"}])
    real_apply = pipeline.apply
    calls = []

    def flaky(ctx):
        calls.append(ctx.job.pk)
        if len(calls) == 1:
            raise ConnectionError("transient")
        real_apply(ctx)

    monkeypatch.setattr(jobs, "apply", flaky)
    run_pending_jobs()
    job = job_at(location)
    assert job.status == "pending" and job.attempts == 1
    assert job.errors == [
        {
            "index": None,
            "locale": None,
            "field": None,
            "message": "Attempt 1 failed: ConnectionError.",
        }
    ]
    assert job.next_attempt_at > timezone.now()  # backing off
    assert not Item.objects.exists()
    assert run_pending_jobs() == 0  # not before its next attempt
    Job.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    run_pending_jobs()
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2 and job.errors == []
    assert Item.objects.count() == 1


@override_settings(GHEE_JOB_MAX_ATTEMPTS=2)
def test_a_job_that_keeps_failing_fails_after_max_attempts(
    api, write_token, team_members, monkeypatch
):
    location = create(api, write_token, [{"name": "a"}])

    def broken(ctx):
        raise RuntimeError("bug")

    monkeypatch.setattr(jobs, "apply", broken)
    for _ in range(2):
        Job.objects.update(next_attempt_at=None)
        run_pending_jobs()
    job = job_at(location)
    assert job.status == "failed" and job.attempts == 2
    assert job.errors[0]["message"] == "Attempt 2 failed: RuntimeError."


@override_settings(GHEE_JOB_MAX_ATTEMPTS=3)
def test_a_job_whose_worker_keeps_dying_is_failed_by_the_claim(api, write_token, team_members):
    location = create(api, write_token, [{"name": "a"}])
    Job.objects.update(
        status="running", attempts=3, lease_token="dead", lease_expires_at=timezone.now()
    )
    assert claim_jobs().ids == []
    job = job_at(location)
    assert job.status == "failed"
    assert "Gave up after 3 attempts" in job.errors[0]["message"]


class WorkerDied(BaseException):
    """Stands for the process dying (SIGKILL, OOM) in the middle of a batch."""


def test_only_jobs_that_started_are_charged_an_attempt(api, write_token, team_members, monkeypatch):
    """A crash loop on one job must not use up the attempts of the jobs queued behind it."""
    locations = [create(api, write_token, [{"name": f"n{n}"}]) for n in range(3)]
    monkeypatch.setattr(jobs, "CHUNK_ITEMS", 1)  # each job its own chunk

    def dies(ctx):
        raise WorkerDied

    monkeypatch.setattr(jobs, "apply", dies)
    with pytest.raises(WorkerDied):
        process_batch(claim_jobs())
    assert [(job_at(loc).status, job_at(loc).attempts) for loc in locations] == [
        ("running", 1),
        ("pending", 0),
        ("pending", 0),
    ]


def test_a_crash_loop_charges_only_the_job_that_kills_its_worker(
    api, write_token, team_members, monkeypatch
):
    """One job of a batch kills its worker every time it runs (the chunk size is the real
    one: the whole batch is one chunk at first). The jobs leased with it are not used up:
    each is charged for the one crash it was in flight for, then runs alone and succeeds;
    the killer alone runs out of attempts."""
    locations = [create(api, write_token, [{"name": f"n{n}"}]) for n in range(5)]
    killer = job_at(locations[1]).pk

    def dies_on_the_killer(ctx):
        if ctx.job.pk == killer:
            raise WorkerDied
        return real_apply(ctx)

    def creates_die_with_the_killer(contexts):
        if any(ctx.job.pk == killer for ctx in contexts):
            raise WorkerDied
        return real_apply_creates(contexts)

    real_apply, real_apply_creates = jobs.apply, jobs.apply_creates
    monkeypatch.setattr(jobs, "apply", dies_on_the_killer)
    monkeypatch.setattr(jobs, "apply_creates", creates_die_with_the_killer)
    crashes = 0
    for _ in range(10):  # a worker restarted after each crash, once the lease lapsed
        lease = claim_jobs()
        if not lease:
            break
        try:
            process_batch(lease)
        except WorkerDied:
            crashes += 1
        Job.objects.filter(status="running").update(lease_expires_at=timezone.now())
    outcome = [(job_at(loc).status, job_at(loc).attempts) for loc in locations]
    assert outcome == [
        ("succeeded", 2),
        ("failed", 5),  # GHEE_JOB_MAX_ATTEMPTS
        ("succeeded", 2),
        ("succeeded", 2),
        ("succeeded", 2),
    ]
    assert crashes == 5
    assert "Gave up after 5 attempts" in job_at(locations[1]).errors[0]["message"]
    assert ItemLocale.objects.count() == 4


def test_a_job_left_running_by_a_dead_worker_is_claimed_again(api, write_token, team_members):
    location = create(api, write_token, [{"name": "a"}])
    Job.objects.update(
        status="running", attempts=1, lease_token="dead", lease_expires_at=timezone.now()
    )
    run_pending_jobs()
    job = job_at(location)
    assert job.status == "succeeded" and job.attempts == 2
    assert Item.objects.count() == 1


def test_an_unexpired_lease_is_left_alone(api, write_token, team_members):
    create(api, write_token, [{"name": "a"}])
    Job.objects.update(
        status="running",
        lease_token="alive",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    assert claim_jobs().ids == []
    assert run_pending_jobs() == 0


def test_a_change_waits_for_an_earlier_job_on_the_same_item(api, write_token, team_members):
    create(api, write_token, [{"name": "a"}])
    run_pending_jobs()
    item = Item.objects.get().pk
    url = f"/v2/content/team_members/{item}/"
    api.patch(url, {"fields": {"position": "first"}}, format="json", **auth(write_token))
    api.patch(url, {"fields": {"position": "second"}}, format="json", **auth(write_token))
    first, second = Job.objects.filter(item_id=item).order_by("id")
    # Another worker holds the first job.
    Job.objects.filter(pk=first.pk).update(
        lease_token="other", lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    lease = claim_jobs()
    assert lease.ids == [second.pk]
    assert process_batch(lease)["deferred"] == 1
    second.refresh_from_db()
    assert second.status == "pending" and second.attempts == 0
    assert ItemLocale.objects.get().data["position"] is None
    # Once the first is released (and the deferral is over), both apply, in order.
    Job.objects.update(lease_token="", lease_expires_at=None, next_attempt_at=None)
    run_pending_jobs()
    assert ItemLocale.objects.get().data["position"] == "second"


def test_creates_are_applied_together_and_one_bad_job_fails_alone(
    api, write_token, team_members, org
):
    make_collection(
        org, "refs", [{"key": "to", "type": "reference", "reference_to": "team_members"}]
    )
    create(api, write_token, [{"name": "target"}])
    run_pending_jobs()
    target = Item.objects.get().pk
    good = [create(api, write_token, [{"name": f"n{n}"}, {"name": f"m{n}"}]) for n in range(3)]
    bad = create(api, write_token, [{"to": target}], key="refs")
    Item.objects.filter(pk=target).update(deleted_at=timezone.now())
    run_pending_jobs()
    assert job_at(bad).status == "failed"
    for location in good:
        job = job_at(location)
        assert job.status == "succeeded" and len(job.result["item_ids"]) == 2
    assert Item.objects.filter(collection=team_members).count() == 7
    assert not Item.objects.filter(collection__key="refs").exists()


def test_when_the_batched_create_breaks_each_job_is_applied_alone(
    api, write_token, team_members, monkeypatch
):
    locations = [create(api, write_token, [{"name": f"n{n}"}]) for n in range(3)]
    real = pipeline.apply_creates

    def breaks_in_bulk(contexts):
        if len(contexts) > 1:
            real(contexts)  # writes, then fails: the savepoint must undo it
            raise RuntimeError("bulk path broke")
        return real(contexts)

    monkeypatch.setattr(jobs, "apply_creates", breaks_in_bulk)
    monkeypatch.setattr(pipeline, "apply_creates", breaks_in_bulk)
    run_pending_jobs()
    assert [job_at(location).status for location in locations] == ["succeeded"] * 3
    assert Item.objects.count() == 3
    assert sorted(ItemLocale.objects.values_list("data__name", flat=True)) == ["n0", "n1", "n2"]
