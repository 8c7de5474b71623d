"""The content editor (/admin/content/item/): lists, the schema-generated form, and saves
that go through the Write API's validation and jobs (issue 11 item 2)."""

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ghee.accounts.services import create_token
from ghee.content.models import Item, ItemLocale, Job
from ghee.content.write.jobs import run_pending_jobs
from ghee.media.models import MediaAsset
from tests.conftest import make_collection
from tests.media.samples import png_bytes
from tests.read_factories import put_item


def list_url(collection):
    return f"/admin/content/item/{collection.pk}/"


def add_url(collection):
    return f"/admin/content/item/{collection.pk}/add/"


def edit_url(collection, item_id):
    return f"/admin/content/item/{collection.pk}/{item_id}/"


def job_id_of(response) -> int:
    assert response.status_code == 302, response.content[:2000]
    match = re.fullmatch(r"/admin/content/item/jobs/(\d+)/", response["Location"])
    assert match, response["Location"]
    return int(match.group(1))


def read_item(api, token, key, item_id, **params):
    return api.get(f"/v2/content/{key}/{item_id}/", {"auth_token": token, **params})


@pytest.fixture
def admin_user(admin_user):
    admin_user.first_name, admin_user.last_name = "Ada", "Lovelace"
    admin_user.save()
    return admin_user


def test_the_content_page_lists_collections_with_item_counts(admin_client, org, team_members):
    put_item(team_members, {"name": "Ada"})
    put_item(team_members, {"name": "Grace"})
    make_collection(org, "departments", [{"key": "name", "type": "short_text"}])
    page = admin_client.get("/admin/content/item/")
    assert page.status_code == 200
    rows = re.findall(
        rb'<a href="/admin/content/item/\d+/">([^<]+)</a>.*?number">(\d+)<', page.content, re.S
    )
    assert rows == [(b"departments", b"0"), (b"team_members", b"2")]
    # The app index links here.
    assert b'href="/admin/content/item/"' in admin_client.get("/admin/").content


def test_create_publish_and_read_back(admin_client, api, org, team_members, read_token):
    response = admin_client.post(
        add_url(team_members),
        {"item-name": "Ada", "item-position": "CTO", "action": "publish"},
    )
    job_id = job_id_of(response)
    job = Job.objects.get(pk=job_id)
    assert (job.kind, job.token, job.editor) == ("create", None, "Ada Lovelace")

    waiting = admin_client.get(f"/admin/content/item/jobs/{job_id}/")
    assert b"Waiting for the worker" in waiting.content
    assert b'http-equiv="refresh"' in waiting.content
    assert run_pending_jobs() == 1
    done = admin_client.get(f"/admin/content/item/jobs/{job_id}/")
    assert b'id="outcome">Done.' in done.content
    assert b'http-equiv="refresh"' not in done.content
    assert b"Create and publish a new item in team_members, asked by Ada Lovelace" in done.content
    [item] = Item.objects.filter(collection=team_members)
    assert f'href="{edit_url(team_members, item.pk)}"'.encode() in done.content

    body = read_item(api, read_token, "team_members", item.pk).json()
    assert body["data"]["name"] == "Ada"
    assert body["data"]["position"] == "CTO"


def test_validation_errors_show_on_the_fields_and_nothing_is_accepted(admin_client, team_members):
    response = admin_client.post(
        add_url(team_members), {"item-name": "", "item-position": "x", "action": "publish"}
    )
    assert response.status_code == 200
    assert not Job.objects.exists()
    html = response.content.decode()
    # The Write API's own message, on the name input's row.
    row = re.search(r'<div class="form-row ghee-field field-name errors">(.*?)</div>', html, re.S)
    assert row and "This field may not be blank." in row.group(1)
    assert 'value="x"' in html  # what the editor typed is kept

    too_long = admin_client.post(add_url(team_members), {"item-name": "n" * 121, "action": "draft"})
    assert b"Ensure this field has no more than 120 characters." in too_long.content


@pytest.fixture
def people(org_locales):
    return make_collection(
        org_locales,
        "people",
        [
            {"key": "name", "type": "short_text", "required": True, "help_text": "Full <name>"},
            {"key": "bio", "type": "long_text"},
            {"key": "age", "type": "number", "translatable": False},
        ],
        label="name",
    )


def test_edit_in_two_locales(admin_client, api, org_locales, people):
    token = create_token(org_locales, "read")[1]
    page = admin_client.get(add_url(people))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="locale-en"' in text and 'id="locale-es"' in text
    assert "Shared by every locale" in text and 'name="shared-age"' in text
    assert "Full &lt;name&gt;" in text  # help text shown, as text
    assert 'class="required"' in text

    created = admin_client.post(
        add_url(people),
        {
            "en-name": "Ada",
            "en-bio": "line one\r\nline two",
            "es-name": "Ada (es)",
            "es-bio": "",
            "shared-age": "36",
            "action": "draft",
        },
    )
    job_id_of(created)
    run_pending_jobs()
    item = Item.objects.get(collection=people)
    versions = dict(ItemLocale.objects.filter(item=item).values_list("locale", "data"))
    assert versions["en"] == {"name": "Ada", "bio": "line one\nline two", "age": 36}
    assert versions["es"] == {"name": "Ada (es)", "bio": "", "age": 36}

    form = admin_client.get(edit_url(people, item.pk)).content.decode()
    assert 'name="es-name" value="Ada (es)"' in form

    edited = admin_client.post(
        edit_url(people, item.pk),
        {
            "en-name": "Ada L.",
            "en-bio": "",
            "es-name": "",
            "es-bio": "",
            "shared-age": "37",
            "action": "publish",
        },
    )
    # Spanish name emptied: the Write API's message, on the Spanish tab's input.
    assert edited.status_code == 200
    html = edited.content.decode()
    assert re.search(
        r'id="locale-es".*?field-name errors.*?This field may not be blank', html, re.S
    )
    assert 'class="ghee-tab has-errors" data-tab="locale-es"' in html

    edited = admin_client.post(
        edit_url(people, item.pk),
        {
            "en-name": "Ada L.",
            "en-bio": "",
            "es-name": "Ada L. (es)",
            "es-bio": "",
            "shared-age": "37",
            "action": "publish",
        },
    )
    job = Job.objects.get(pk=job_id_of(edited))
    assert job.kind == "replace"
    run_pending_jobs()
    for locale, name in (("en", "Ada L."), ("es", "Ada L. (es)")):
        body = read_item(api, token, "people", item.pk, locale=locale).json()
        assert body["data"]["name"] == name
        assert body["data"]["age"] == 37


def test_a_locale_left_empty_is_not_created(admin_client, people):
    response = admin_client.post(add_url(people), {"en-name": "Only English", "action": "draft"})
    job_id_of(response)
    run_pending_jobs()
    assert list(ItemLocale.objects.values_list("locale", flat=True)) == ["en"]


def test_unpublish_and_delete(admin_client, api, team_members, read_token):
    item = put_item(team_members, {"name": "Ada", "position": "CTO"})
    assert read_item(api, read_token, "team_members", item.pk).status_code == 200

    job_id = job_id_of(admin_client.post(edit_url(team_members, item.pk), {"action": "unpublish"}))
    job = Job.objects.get(pk=job_id)
    assert (job.kind, job.payload) == ("update", {"status": "draft", "fields": {}})
    run_pending_jobs()
    page = admin_client.get(f"/admin/content/item/jobs/{job_id}/")
    assert b"Unpublish item #" in page.content and b"Done." in page.content
    version = ItemLocale.objects.get(item=item)
    assert version.status == "draft"
    assert version.data == {"name": "Ada", "position": "CTO"}  # values kept

    confirm = admin_client.get(f"{edit_url(team_members, item.pk)}delete/")
    assert b"Yes, delete it" in confirm.content
    job_id = job_id_of(admin_client.post(f"{edit_url(team_members, item.pk)}delete/"))
    assert Job.objects.get(pk=job_id).kind == "delete"
    # Hidden at once, as an API DELETE is.
    assert read_item(api, read_token, "team_members", item.pk).status_code == 404
    assert admin_client.get(edit_url(team_members, item.pk)).status_code == 404
    run_pending_jobs()
    assert b"No items." in admin_client.get(list_url(team_members)).content


def test_a_failed_job_shows_its_errors_by_field(admin_client, org):
    departments = make_collection(org, "departments", [{"key": "name", "type": "short_text"}])
    members = make_collection(
        org,
        "members",
        [
            {"key": "name", "type": "short_text"},
            {
                "key": "department",
                "name": "Department",
                "type": "reference",
                "reference_to": "departments",
            },
        ],
    )
    sales = put_item(departments, {"name": "Sales"})
    form = admin_client.get(add_url(members)).content.decode()
    assert f'data-ajax--url="/admin/content/item/{departments.pk}/search/"' in form

    job_id = job_id_of(
        admin_client.post(
            add_url(members),
            {"item-name": "Ada", "item-department": str(sales.pk), "action": "publish"},
        )
    )
    Item.objects.filter(pk=sales.pk).update(deleted_at="2026-01-01T00:00:00Z")
    run_pending_jobs()
    page = unescape(admin_client.get(f"/admin/content/item/jobs/{job_id}/").content.decode())
    assert "The job failed; nothing of it was written." in page
    assert f'Field Department: Item {sales.pk} does not exist in collection "departments".' in page


def test_reference_search_finds_items_by_label(admin_client, org, team_members):
    ada = put_item(team_members, {"name": "Ada Lovelace"})
    put_item(team_members, {"name": "Grace Hopper"})
    found = admin_client.get(f"/admin/content/item/{team_members.pk}/search/", {"term": "love"})
    assert found.json() == {
        "results": [{"id": ada.pk, "text": f"Ada Lovelace (#{ada.pk})"}],
        "pagination": {"more": False},
    }
    by_id = admin_client.get(
        f"/admin/content/item/{team_members.pk}/search/", {"term": str(ada.pk)}
    )
    assert [r["id"] for r in by_id.json()["results"]] == [ada.pk]


def test_list_search_status_filter_and_paging(admin_client, team_members):
    items = [put_item(team_members, {"name": f"Person {n:02}"}) for n in range(55)]
    put_item(team_members, None, draft={"name": "Draft person"})
    page = admin_client.get(list_url(team_members))
    text = page.content.decode()
    assert "56 items" in text
    assert text.count('class="ghee-status') == 50
    assert "Draft person" in text  # newest first
    assert "?p=2" in text
    second = admin_client.get(list_url(team_members), {"p": 2}).content.decode()
    assert ">Person 00<" in second

    found = admin_client.get(list_url(team_members), {"q": "person 1"}).content.decode()
    assert "10 items found" in found

    drafts = admin_client.get(list_url(team_members), {"status": "draft"}).content.decode()
    assert "1 item found" in drafts and "Draft person" in drafts
    published = admin_client.get(list_url(team_members), {"status": "published"}).content.decode()
    assert "55 items found" in published
    assert (
        f">{items[0].pk}<"
        in admin_client.get(list_url(team_members), {"q": str(items[0].pk)}).content.decode()
    )


def queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_list_pages_make_a_fixed_number_of_queries(admin_client, org, org_locales, team_members):
    """No N+1: ten times the items or collections cost no extra query."""
    put_item(team_members, {"name": "first n"})
    queries(admin_client, list_url(team_members))  # warm: the compiled schema is cached
    few = queries(admin_client, list_url(team_members))
    few_filtered = queries(admin_client, list_url(team_members), q="n", status="published")
    few_collections = queries(admin_client, "/admin/content/item/")
    few_schema = queries(admin_client, "/admin/content/collection/")
    for n in range(30):
        put_item(team_members, {"name": f"n{n}"})
    for n in range(10):
        make_collection(org, f"c{n}", [{"key": "name", "type": "short_text"}])
    assert queries(admin_client, list_url(team_members)) == few
    assert queries(admin_client, list_url(team_members), q="n", status="published") == few_filtered
    assert queries(admin_client, "/admin/content/item/") == few_collections
    assert queries(admin_client, "/admin/content/collection/") == few_schema


def test_media_field_takes_an_upload(admin_client, api, org, read_token):
    gallery = make_collection(
        org, "gallery", [{"key": "title", "type": "short_text"}, {"key": "photo", "type": "media"}]
    )
    upload = SimpleUploadedFile("red.png", png_bytes(), content_type="image/png")
    job_id = job_id_of(
        admin_client.post(
            add_url(gallery),
            {
                "item-title": "Red",
                "item-photo": "",
                "item-photo__upload": upload,
                "action": "publish",
            },
        )
    )
    run_pending_jobs()
    asset = MediaAsset.objects.get()
    item = Item.objects.get(collection=gallery)
    body = read_item(api, read_token, "gallery", item.pk).json()
    assert body["data"]["photo"] == asset.url
    assert Job.objects.get(pk=job_id).status == "succeeded"
    form = admin_client.get(edit_url(gallery, item.pk)).content.decode()
    assert f'class="ghee-media-preview" src="{asset.url}"' in form


def test_an_upload_the_library_refuses_shows_on_the_field(admin_client, org):
    gallery = make_collection(org, "gallery", [{"key": "photo", "type": "media"}])
    upload = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    response = admin_client.post(
        add_url(gallery), {"item-photo__upload": upload, "action": "publish"}
    )
    assert response.status_code == 200
    assert re.search(rb"field-photo errors.*?errorlist", response.content, re.S)
    assert not Job.objects.exists()


def test_the_form_has_the_right_input_for_every_type(admin_client, org):
    every = make_collection(
        org,
        "every",
        [
            {"key": "title", "type": "short_text", "required": True, "help_text": "Shown"},
            {"key": "summary", "type": "long_text"},
            {"key": "body", "type": "wysiwyg"},
            {"key": "snippet", "type": "html"},
            {"key": "rank", "type": "number"},
            {"key": "when", "type": "date"},
            {"key": "featured", "type": "checkbox"},
            {"key": "size", "type": "dropdown", "choices": [{"label": "Small", "value": "s"}]},
            {"key": "tint", "type": "color"},
            {"key": "photo", "type": "media"},
            {"key": "related", "type": "reference", "reference_to": "every", "many": True},
        ],
        label="title",
    )
    page = admin_client.get(add_url(every))
    assert page.status_code == 200
    text = page.content.decode()
    expected = [
        r'<input type="text" name="item-title"',
        r'<textarea name="item-summary"',
        r'<textarea name="item-body"[^>]*data-ghee-wysiwyg',
        r'<textarea name="item-snippet"',
        r'<input type="number" name="item-rank" step="any"',
        r'<input type="datetime-local" name="item-when"',
        r'<input type="checkbox" name="item-featured"',
        r'<select name="item-size"[^>]*>\s*<option value=""[^>]*>---------</option>\s*'
        r'<option value="s">Small</option>',
        r'<input type="text" name="item-tint"[^>]*data-ghee-color',
        r'<input type="url" name="item-photo"',
        r'<input type="file" name="item-photo__upload"',
        r'<select name="item-related"[^>]*class="admin-autocomplete"[^>]*multiple',
    ]
    for pattern in expected:
        assert re.search(pattern, text), pattern
    assert '<div class="help">Shown</div>' in text
    assert "content/wysiwyg.js" in text and "django_prose_editor/editor.css" in text


def recent_jobs(page) -> list[tuple[str, str]]:
    """(job link text, what it did) for each row of an item's "Recent jobs"."""
    box = page.content.decode().split('class="module ghee-jobs"', 1)[1]
    return re.findall(r">(Job \d+)</a></td><td>([^<]+)</td>", box)


def test_an_items_recent_jobs_start_with_the_one_that_created_it_and_name_an_unpublish(
    admin_client, team_members
):
    created = job_id_of(
        admin_client.post(add_url(team_members), {"item-name": "Ada", "action": "publish"})
    )
    run_pending_jobs()
    item = Item.objects.get()
    unpublished = job_id_of(
        admin_client.post(edit_url(team_members, item.pk), {"action": "unpublish"})
    )
    run_pending_jobs()
    page = admin_client.get(edit_url(team_members, item.pk))
    # Newest first, down to the create job (which names no single item: Item.job names it).
    assert recent_jobs(page) == [(f"Job {unpublished}", "Unpublish"), (f"Job {created}", "Create")]

    # The jobs list and the job pages call the unpublish the same.
    listing = admin_client.get("/admin/content/job/").content.decode()
    assert f"Unpublish #{item.pk}" in listing and "Update #" not in listing
    job_page = admin_client.get(f"/admin/content/job/{unpublished}/change/").content.decode()
    assert f"Unpublish item #{item.pk} in team_members" in job_page
    editor_page = admin_client.get(f"/admin/content/item/jobs/{unpublished}/").content.decode()
    assert f"Unpublish item #{item.pk} in team_members" in editor_page


def test_a_field_change_to_draft_is_an_update_not_an_unpublish(
    admin_client, api, write_token, team_members
):
    item = put_item(team_members, {"name": "Ada"})
    api.patch(
        f"/v2/content/team_members/{item.pk}/",
        {"status": "draft", "fields": {"position": "CTO"}},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    listing = admin_client.get("/admin/content/job/").content.decode()
    assert f"Update #{item.pk}" in listing and "Unpublish" not in listing
