"""The dashboard (Django admin): tokens shown once, the schema editor, read-only jobs."""

import pytest

from ghee.accounts.models import ApiToken, Locale
from ghee.accounts.services import create_token
from ghee.content.models import Collection, Field, Item, Job
from ghee.media.models import MediaAsset


def test_site_is_named_ghee(admin_client):
    page = admin_client.get("/admin/")
    assert page.status_code == 200
    assert b"<title>Content service | ghee</title>" in page.content
    assert b">ghee<" in page.content


def test_adding_a_token_shows_it_once_and_it_works(admin_client, api, org, team_members):
    page = admin_client.post(
        "/admin/accounts/apitoken/add/", {"organization": org.pk, "kind": "read", "name": "web"}
    )
    assert page.status_code == 200
    clear = page.context["clear_text"]
    assert clear.encode() in page.content
    token = ApiToken.objects.get()
    assert (token.prefix, token.kind, token.name) == (clear[:12], "read", "web")
    assert api.get("/v2/content/team_members/", {"auth_token": clear}).status_code == 200

    change = admin_client.get(f"/admin/accounts/apitoken/{token.pk}/change/")
    assert change.status_code == 200
    assert token.prefix.encode() in change.content
    assert clear.encode() not in change.content
    listing = admin_client.get("/admin/accounts/apitoken/")
    assert clear.encode() not in listing.content


def test_revoke_action(admin_client, org, settings):
    settings.GHEE_TOKEN_CACHE_SECONDS = 0
    token, _ = create_token(org, "write")
    chosen = {"action": "revoke", "_selected_action": [token.pk]}
    asked = admin_client.post("/admin/accounts/apitoken/", chosen)
    # First a confirmation page (no JavaScript): it names the token, and nothing is revoked.
    assert asked.status_code == 200
    assert b"Revoke these tokens?" in asked.content and token.prefix.encode() in asked.content
    assert b'name="confirmed"' in asked.content
    token.refresh_from_db()
    assert token.revoked_at is None
    response = admin_client.post("/admin/accounts/apitoken/", {**chosen, "confirmed": "yes"})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_organization_needs_exactly_one_default_locale(admin_client, org):
    data = {
        "slug": "acme",
        "name": "Acme",
        "locales-TOTAL_FORMS": "2",
        "locales-INITIAL_FORMS": "0",
        "locales-0-code": "en",
        "locales-0-name": "English",
        "locales-0-order": "0",
        "locales-0-is_default": "on",
        "locales-1-code": "es",
        "locales-1-name": "Spanish",
        "locales-1-order": "1",
        "locales-1-is_default": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    page = admin_client.post(f"/admin/accounts/organization/{org.pk}/change/", data)
    assert page.status_code == 200
    assert b"Exactly one locale must be the default." in page.content
    del data["locales-1-is_default"]
    assert (
        admin_client.post(f"/admin/accounts/organization/{org.pk}/change/", data).status_code == 302
    )
    assert list(Locale.objects.filter(organization=org).values_list("code", "is_default")) == [
        ("en", True),
        ("es", False),
    ]


def field_form(index: int, key: str, type_: str, **options) -> dict:
    values = {
        "key": key,
        "name": "",
        "type": type_,
        "order": str(index),
        "translatable": "on",
        "choices": "[]",
        "default": "null",
        **options,
    }
    return {f"fields-{index}-{name}": value for name, value in values.items()}


def collection_form(org, *fields, **extra) -> dict:
    data = {
        "organization": org.pk,
        "key": "products",
        "name": "Products",
        "label_field": "",
        "fields-TOTAL_FORMS": str(len(fields)),
        "fields-INITIAL_FORMS": "0",
        **extra,
    }
    for form in fields:
        data |= form
    return data


def test_schema_editor_applies_the_schema_file_rules(admin_client, org):
    bad = collection_form(
        org,
        field_form(0, "title", "short_text", pattern="phone"),
        field_form(1, "owner", "reference"),
    )
    page = admin_client.post("/admin/content/collection/add/", bad)
    assert page.status_code == 200
    assert b"collection &#x27;products&#x27;, field &#x27;title&#x27;: unknown pattern" in (
        page.content
    )
    assert b"field &#x27;owner&#x27;: a reference needs &#x27;to&#x27;" in page.content
    assert not Collection.objects.exists()

    good = collection_form(
        org,
        field_form(0, "title", "short_text", required="on", max_length="80"),
        field_form(1, "size", "dropdown", choices='["s", "l"]', default='"s"'),
        field_form(2, "tint", "color", default='"#ABCDEF"'),
        label_field="title",
    )
    assert admin_client.post("/admin/content/collection/add/", good).status_code == 302
    products = Collection.objects.get(organization=org, key="products")
    assert products.label_field == "title"
    fields = {f.key: f for f in products.fields.all()}
    assert (fields["title"].required, fields["title"].max_length) == (True, 80)
    assert fields["title"].name == "Title"  # named as a schema file would name it
    assert fields["size"].choices == ["s", "l"]
    assert fields["tint"].default == "#abcdef"


def test_schema_editor_save_moves_updated_at_and_guards_items(admin_client, org, team_members):
    before = team_members.updated_at
    name, position = team_members.fields.order_by("order")
    data = {
        "name": "Team",
        "label_field": "name",
        "fields-TOTAL_FORMS": "2",
        "fields-INITIAL_FORMS": "2",
        **field_form(0, "name", "short_text", id=str(name.pk), required="on", max_length="50"),
        **field_form(1, "position", "short_text", id=str(position.pk)),
    }
    url = f"/admin/content/collection/{team_members.pk}/change/"
    assert admin_client.post(url, data).status_code == 302
    team_members.refresh_from_db()
    assert team_members.updated_at > before
    assert Field.objects.get(pk=name.pk).max_length == 50

    Item.objects.create(collection=team_members, organization=org)
    data |= field_form(1, "position", "number", id=str(position.pk))
    page = admin_client.post(url, data)
    assert page.status_code == 200
    assert b"cannot change &#x27;type&#x27; from &#x27;short_text&#x27; to &#x27;number&#x27;" in (
        page.content
    )
    assert Field.objects.get(pk=position.pk).type == "short_text"


@pytest.fixture
def job(org, team_members):
    return Job.objects.create(organization=org, collection=team_members, kind="create")


def test_jobs_are_read_only(admin_client, job):
    assert admin_client.get("/admin/content/job/").status_code == 200
    assert admin_client.get(f"/admin/content/job/{job.pk}/change/").status_code == 200
    assert admin_client.get("/admin/content/job/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/content/job/{job.pk}/change/", {"status": "failed"}).status_code
        == 403
    )
    assert admin_client.get(f"/admin/content/job/{job.pk}/delete/").status_code == 403
    job.refresh_from_db()
    assert job.status == "pending"


def test_every_page_names_the_site_icon_and_favicon_ico_answers(admin_client, client):
    for page in (client.get("/"), client.get("/admin/login/"), admin_client.get("/admin/")):
        assert b'<link rel="icon" href="/static/dashboard/favicon.ico"' in page.content
        assert b"dashboard/ghee.css" in page.content
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_a_media_assets_page_says_sha_256_and_offers_no_add_another(admin_client, org):
    asset = MediaAsset.objects.create(
        organization=org,
        file="k" * 32 + "/terms.pdf",
        content_type="application/pdf",
        size=2048,
        sha256="ab" * 32,
    )
    page = admin_client.get(f"/admin/media/mediaasset/{asset.pk}/change/").content.decode()
    assert "<label>SHA-256:</label>" in page and "ab" * 32 in page
    assert "Sha256" not in page
    assert 'name="_addanother"' not in page and 'name="_save"' in page
