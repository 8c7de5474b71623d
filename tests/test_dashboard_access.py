"""Dashboard access by organization membership (docs/dashboard.md), as HTTP requests to the
admin: a staff member of one organization sees, picks and reaches none of another's tokens,
jobs or organization; a staff user with no membership sees nothing; superusers see all.
Also: the jobs list and job page, retrying a failed job, and the query count of the list.
"""

import re
from io import StringIO
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ghee.accounts.models import ApiToken, Membership
from ghee.accounts.services import add_member, create_organization, create_token
from ghee.content.models import Job
from ghee.content.write.jobs import JOB_LEASES, run_pending_jobs
from ghee.content.write.pipeline import job_error
from ghee.core.leases import LeaseStatus

from .conftest import PASSWORD, make_collection, staff_client


@pytest.fixture
def acme(org, team_members):
    """Organization A: a token and a job nobody from B may see."""
    create_token(org, "write", "acme secret importer")
    return org


@pytest.fixture
def globex(db):
    """Organization B, with its own collection and token."""
    globex = create_organization("globex", "Globex Corp")
    make_collection(globex, "products", [{"key": "title", "type": "short_text"}], label="title")
    create_token(globex, "read", "globex website")
    return globex


@pytest.fixture
def bob(globex):
    """A staff member of B only."""
    return staff_client("bob", globex)[0]


def write(api, token: str, body: dict):
    response = api.post("/v2/content/", body, format="json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 202, response.content
    return Job.objects.latest("id")


def fail(job: Job, message: str, field: str | None = None) -> Job:
    """Fail ``job`` the way a worker does: claim, start, finish through the leases."""
    lease = JOB_LEASES.claim(100)
    assert job.pk in JOB_LEASES.start(lease, [job.pk])
    JOB_LEASES.release(lease, [pk for pk in lease.ids if pk != job.pk], 0)
    error = job_error(message, index=0 if field else None, field=field)
    assert JOB_LEASES.finish(lease, job.pk, LeaseStatus.FAILED, errors=[error])
    job.refresh_from_db()
    return job


@pytest.fixture
def acme_job(api, acme, write_token):
    return write(api, write_token, {"key": "team_members", "fields": [{"name": "Acme person"}]})


# --- Tokens ------------------------------------------------------------------------------------


def test_a_member_lists_only_their_organizations_tokens(bob, acme, globex):
    page = bob.get("/admin/accounts/apitoken/")
    assert page.status_code == 200
    assert b"globex website" in page.content
    assert b"acme secret importer" not in page.content
    # Not even as a filter choice; their one organization needs no column either.
    assert b"Acme" not in page.content
    assert b"column-organization" not in page.content
    # A member of both sees both, with the organization column and filter.
    both, _ = staff_client("carol", acme, globex)
    page = both.get("/admin/accounts/apitoken/")
    assert b"globex website" in page.content and b"acme secret importer" in page.content
    assert b"column-organization" in page.content
    assert b"By organization" in page.content


def test_another_organizations_token_is_unreachable_by_id(bob, acme, globex, settings):
    settings.GHEE_TOKEN_CACHE_SECONDS = 0
    theirs = ApiToken.objects.get(organization=acme)
    for url in (
        f"/admin/accounts/apitoken/{theirs.pk}/change/",
        f"/admin/accounts/apitoken/{theirs.pk}/history/",
    ):
        page = bob.get(url, follow=True)
        assert page.status_code == 200, url
        assert page.redirect_chain[0] == ("/admin/", 302)
        assert b"doesn\xe2\x80\x99t exist" in page.content
        assert b"acme secret importer" not in page.content
    # Nor can it be revoked by slipping its id into the list's action.
    bob.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [theirs.pk], "confirmed": "yes"},
    )
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_a_member_creates_tokens_only_for_their_organization(bob, acme, globex):
    form = bob.get("/admin/accounts/apitoken/add/")
    assert form.status_code == 200
    choices = {
        str(choice[1]) for choice in form.context["adminform"].form.fields["organization"].choices
    }
    assert choices == {"---------", "Globex Corp"}
    # Preselected: B is their only organization.
    assert form.context["adminform"].form.initial["organization"] == globex.pk

    refused = bob.post(
        "/admin/accounts/apitoken/add/", {"organization": acme.pk, "kind": "write", "name": "x"}
    )
    assert refused.status_code == 200
    assert b"Select a valid choice" in refused.content
    assert not ApiToken.objects.filter(name="x").exists()

    created = bob.post(
        "/admin/accounts/apitoken/add/", {"organization": globex.pk, "kind": "read", "name": "app"}
    )
    assert created.status_code == 200
    assert created.context["clear_text"].encode() in created.content
    assert ApiToken.objects.get(name="app").organization == globex


def test_a_save_into_another_organization_is_refused_even_past_the_form(rf, acme, globex):
    """The form's choices stop it first; ``save_form`` refuses it should a form let it by."""
    _, member = staff_client("eve", globex)
    request = rf.post("/admin/accounts/apitoken/add/")
    request.user = member

    class ForgedForm:
        def __init__(self, organization):
            self.organization = organization

        def save(self, commit):
            return ApiToken(organization=self.organization, kind="read")

    token_admin = admin.site.get_model_admin(ApiToken)
    assert token_admin.save_form(request, ForgedForm(globex), change=False).organization == globex
    with pytest.raises(PermissionDenied):
        token_admin.save_form(request, ForgedForm(acme), change=False)


def test_members_revoke_but_do_not_delete_tokens(bob, globex):
    token = ApiToken.objects.get(organization=globex)
    assert bob.get(f"/admin/accounts/apitoken/{token.pk}/delete/").status_code == 403
    page = bob.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk], "confirmed": "yes"},
    )
    assert page.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


# --- Organizations -----------------------------------------------------------------------------


def test_a_member_sees_and_edits_only_their_organization(bob, acme, globex):
    page = bob.get("/admin/accounts/organization/")
    assert b"globex" in page.content
    assert b"acme" not in page.content
    assert bob.get("/admin/accounts/organization/add/").status_code == 403
    assert bob.get(f"/admin/accounts/organization/{acme.pk}/change/").status_code == 302
    mine = bob.get(f"/admin/accounts/organization/{globex.pk}/change/")
    assert mine.status_code == 200
    # Members and memberships are the superusers' to manage.
    assert b"memberships-TOTAL_FORMS" not in mine.content
    renamed = bob.post(
        f"/admin/accounts/organization/{globex.pk}/change/",
        {"name": "Globex Inc", "locales-TOTAL_FORMS": "0", "locales-INITIAL_FORMS": "0"},
    )
    assert renamed.status_code == 302
    globex.refresh_from_db()
    assert (globex.slug, globex.name) == ("globex", "Globex Inc")


def test_a_staff_user_without_membership_sees_nothing(acme, acme_job):
    client, _ = staff_client("nobody")
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b"You don\xe2\x80\x99t have permission to view or edit anything." in index.content
    for url in (
        "/admin/accounts/apitoken/",
        "/admin/accounts/organization/",
        "/admin/content/job/",
        f"/admin/content/job/{acme_job.pk}/change/",
        "/admin/auth/user/",
    ):
        assert client.get(url).status_code in (302, 403), url


def test_a_superuser_sees_every_organization(admin_client, acme, globex, acme_job):
    tokens = admin_client.get("/admin/accounts/apitoken/")
    assert b"globex website" in tokens.content
    assert b"acme secret importer" in tokens.content
    assert admin_client.get(f"/admin/content/job/{acme_job.pk}/change/").status_code == 200


def test_membership_is_managed_on_the_user_page(admin_client, globex):
    _, carol = staff_client("carol")
    page = admin_client.get(f"/admin/auth/user/{carol.pk}/change/")
    assert page.status_code == 200
    assert b"Organizations (a staff user sees only these in the dashboard)" in page.content
    listing = admin_client.get("/admin/auth/user/")
    assert b"all (superuser)" in listing.content
    add_member(carol, globex)
    assert Membership.objects.filter(user=carol, organization=globex).exists()
    assert b"globex" in admin_client.get("/admin/auth/user/").content


def test_password_validators_are_on(admin_client):
    page = admin_client.post(
        "/admin/auth/user/add/",
        {
            "username": "dave",
            "password1": "12345678",
            "password2": "12345678",
            "usable_password": "true",
        },
    )
    assert page.status_code == 200
    assert b"This password is too short" in page.content
    assert b"This password is entirely numeric" in page.content
    assert not get_user_model().objects.filter(username="dave").exists()


# --- Jobs ----------------------------------------------------------------------------------------


def test_a_member_sees_only_their_organizations_jobs(bob, api, acme, acme_job, globex):
    globex_write = create_token(globex, "write", "globex importer")[1]
    theirs = write(api, globex_write, {"key": "products", "fields": [{"title": "Widget"}]})
    page = bob.get("/admin/content/job/")
    assert page.status_code == 200
    assert f'href="/admin/content/job/{theirs.pk}/change/'.encode() in page.content
    assert f'href="/admin/content/job/{acme_job.pk}/change/'.encode() not in page.content
    assert b"team_members" not in page.content  # not even as a filter choice
    assert bob.get(f"/admin/content/job/{acme_job.pk}/change/").status_code == 302
    assert bob.get(f"/admin/content/job/{theirs.pk}/change/").status_code == 200
    # Asking the list for the other organization's jobs shows none of them (with one
    # organization there is no organization filter: Django ignores the parameter).
    filtered = bob.get(f"/admin/content/job/?organization__id__exact={acme.pk}")
    assert filtered.status_code == 200
    assert f"/admin/content/job/{acme_job.pk}/change/".encode() not in filtered.content
    assert {job.organization_id for job in filtered.context["cl"].result_list} == {globex.pk}


def test_the_job_page_says_what_was_asked_not_the_payload(admin_client, api, acme, write_token):
    job = write(
        api,
        write_token,
        {
            "key": "team_members",
            "status": "published",
            "fields": [{"name": "Ada Lovelace", "position": "Engineer"}, {"name": "Grace"}],
        },
    )
    job = fail(job, "Ensure this field has no more than 120 characters.", field="name")
    page = admin_client.get(f"/admin/content/job/{job.pk}/change/")
    text = page.content.decode()
    assert "Create 2 items in team_members" in text
    assert "published" in text
    assert "test writer" in text  # the editor: the token's name
    assert "item 1 (new)" in text
    assert "Name: “Ada Lovelace”; Position: “Engineer”" in text
    assert "<td>Name</td><td>Ensure this field has no more than 120 characters.</td>" in text
    assert '"fields"' not in text and "payload" not in text.lower()
    assert "Retry this job" in text


def test_failed_jobs_filter_and_list_errors(admin_client, api, acme, write_token):
    ok = write(api, write_token, {"key": "team_members", "fields": [{"name": "Fine"}]})
    bad = fail(write(api, write_token, {"key": "team_members", "fields": [{"name": "X"}]}), "Boom.")
    page = admin_client.get("/admin/content/job/?status__exact=failed")
    assert f"/admin/content/job/{bad.pk}/change/".encode() in page.content
    assert f"/admin/content/job/{ok.pk}/change/".encode() not in page.content
    assert b"Boom." in page.content


def test_retrying_a_failed_job_runs_it_again_and_keeps_its_history(
    bob, api, globex, django_capture_on_commit_callbacks
):
    globex_write = create_token(globex, "write", "globex importer")[1]
    job = fail(
        write(api, globex_write, {"key": "products", "fields": [{"title": "Widget"}]}),
        "Gave up after 5 attempts (the worker stopped during each).",
    )
    page = bob.post(f"/admin/content/job/{job.pk}/retry/", follow=True)
    assert page.status_code == 200
    assert b"1 job(s) will run again" in page.content
    job.refresh_from_db()
    assert (job.status, job.attempts, job.finished_at) == ("pending", 0, None)
    history = LogEntry.objects.get(object_id=str(job.pk))
    assert "Retried by bob: it had failed after 1 attempt(s) (Gave up after 5" in (
        history.get_change_message()
    )

    assert run_pending_jobs() == 1
    job.refresh_from_db()
    assert (job.status, job.errors, job.attempts) == ("succeeded", [], 1)
    listing = api.get(
        "/v2/content/products/", {"preview": 1}, HTTP_AUTHORIZATION=f"Token {globex_write}"
    )
    assert [item["title"] for item in listing.json()["data"]["products"]] == ["Widget"]

    # A succeeded job is not retried again, not even by the lease machinery itself.
    assert JOB_LEASES.reopen([job.pk]) == 0
    again = bob.post(
        "/admin/content/job/", {"action": "retry", "_selected_action": [job.pk]}, follow=True
    )
    assert b"was not retried: it is succeeded" in again.content


def test_a_change_is_not_retried_over_a_later_change(admin_client, api, acme, write_token):
    write(api, write_token, {"key": "team_members", "fields": [{"name": "Ada"}]})
    run_pending_jobs()
    item_id = Job.objects.latest("id").result["item_ids"][0]
    patch = {"fields": {"position": "Old"}}
    url = f"/v2/content/team_members/{item_id}/"
    auth = {"HTTP_AUTHORIZATION": f"Token {write_token}"}
    assert api.patch(url, patch, format="json", **auth).status_code == 202
    old = fail(Job.objects.latest("id"), "Boom.")
    assert api.patch(url, {"fields": {"position": "New"}}, format="json", **auth).status_code == 202
    run_pending_jobs()
    page = admin_client.post(
        "/admin/content/job/", {"action": "retry", "_selected_action": [old.pk]}, follow=True
    )
    assert b"retrying would undo that change" in page.content
    old.refresh_from_db()
    assert old.status == "failed"


def test_internal_queue_tables_are_not_in_the_dashboard(admin_client):
    index = admin_client.get("/admin/").content.decode()
    for internal in ("Outbox", "Chore", "Idempotency", "Task result"):
        assert internal.lower() not in index.lower()


def test_the_jobs_list_costs_the_same_queries_for_3_or_30_jobs(
    admin_client, api, acme, write_token
):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/admin/content/job/").status_code == 200
        return len(captured)

    for _ in range(3):
        fail(write(api, write_token, {"key": "team_members", "fields": [{"name": "A"}]}), "x")
    few = queries_for_list()
    for _ in range(27):
        write(api, write_token, {"key": "team_members", "fields": [{"name": "B"}]})
    assert queries_for_list() == few


# --- ghee user ------------------------------------------------------------------------------------


def run(*args, stdin: str = "") -> str:
    out = StringIO()
    with mock.patch("sys.stdin", StringIO(stdin)):
        call_command(*args, stdout=out)
    return out.getvalue()


def test_ghee_user_add_creates_a_member_who_can_sign_in(acme, globex):
    output = run(
        "user",
        "add",
        "jane@example.com",
        "--org",
        "globex",
        "--name",
        "Jane Doe",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert output.splitlines() == [
        "Created staff user jane@example.com.",
        "jane@example.com is now a member of globex.",
    ]
    client = Client()
    signed_in = client.post(
        "/admin/login/", {"username": "jane@example.com", "password": PASSWORD, "next": "/admin/"}
    )
    assert signed_in.status_code == 302, signed_in.content
    tokens = client.get("/admin/accounts/apitoken/")
    assert b"globex website" in tokens.content and b"acme secret importer" not in tokens.content

    again = run("user", "add", "jane@example.com", "--org", "globex", "--org", "acme")
    assert again.splitlines() == [
        "jane@example.com was already a member of globex.",
        "jane@example.com is now a member of acme.",
    ]
    listing = run("user", "list")
    assert re.search(r"^jane@example.com\s+Jane Doe\s+staff\s+acme,globex\s+", listing, re.M)
    assert run("user", "list", "--org", "acme").count("jane@example.com") == 1

    assert run("user", "remove", "jane@example.com", "--org", "acme").strip() == (
        "jane@example.com is no longer a member of acme."
    )
    assert list(Membership.objects.values_list("organization__slug", flat=True)) == ["globex"]


def test_ghee_user_add_refuses_a_weak_password_and_unknown_orgs(globex):
    with pytest.raises(CommandError, match="This password is too short"):
        run("user", "add", "weak@example.com", "--org", "globex", "--password-stdin", stdin="abc\n")
    with pytest.raises(CommandError, match="no organization 'nope'"):
        run("user", "add", "weak@example.com", "--org", "nope")
    assert not get_user_model().objects.filter(username="weak@example.com").exists()


def test_ghee_user_add_without_a_terminal_leaves_no_usable_password(globex):
    output = run("user", "add", "later@example.com", "--org", "globex")
    assert "It has no password yet: `" in output and "changepassword later@example.com`" in output
    assert not get_user_model().objects.get(username="later@example.com").has_usable_password()


def test_job_summary_speaks_of_items_locales_and_field_names(org_locales):
    from ghee.content import job_summary

    people = make_collection(
        org_locales,
        "people",
        [
            {"key": "name", "type": "short_text", "name": "Full name"},
            {"key": "team", "type": "reference", "reference_to": "teams", "many": True},
            {"key": "bio", "type": "long_text"},
            {"key": "active", "type": "checkbox"},
        ],
    )
    job = Job(
        organization=org_locales,
        collection=people,
        kind="create",
        payload={
            "status": "published",
            "fields": [
                {
                    "en": {"name": "Ada", "team": [3, 4], "bio": "x " * 100, "active": True},
                    "es": {"name": "Ada", "bio": None},
                }
            ],
        },
        errors=[{"index": 0, "locale": "es", "field": "name", "message": "Too short."}],
    )
    names = job_summary.field_names(job)
    assert job_summary.headline(job) == "Create 1 item in people"
    assert job_summary.requested_status(job) == "published"
    rows, hidden = job_summary.value_rows(job, names)
    assert hidden == 0
    assert [(row.item, row.locale) for row in rows] == [
        ("item 1 (new)", "en"),
        ("item 1 (new)", "es"),
    ]
    en = dict(rows[0].fields)
    assert en["Full name"] == "“Ada”"
    assert en["Team"] == "items #3, #4"
    assert en["Bio"].endswith("…”") and len(en["Bio"]) <= job_summary.MAX_VALUE_CHARS + 2
    assert en["Active"] == "yes"
    assert dict(rows[1].fields)["Bio"] == "(empty)"
    [error] = job_summary.error_rows(job, names)
    assert (error.item, error.locale, error.field, error.message) == (
        "item 1 (new)",
        "es",
        "Full name",
        "Too short.",
    )

    patch = Job(
        organization=org_locales,
        collection=people,
        kind="update",
        item_id=42,
        payload={"status": None, "fields": {"en": {"team": [7]}}},
    )
    assert job_summary.headline(patch) == "Update item #42 in people"
    assert job_summary.requested_status(patch) == "unchanged"
    assert [dict(row.fields) for row in job_summary.value_rows(patch, names)[0]] == [
        {"Team": "item #7"}
    ]
