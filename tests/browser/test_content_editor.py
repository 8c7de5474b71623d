"""The dashboard's schema and content editors in a real Chromium (issue 11 items 2 and 3):
sign in, build a collection with one field of every type, create items in two locales
(with an upload and a reference), publish, read back through the Read API, unpublish.

The worker runs in this process between browser sessions (``run_pending_jobs``), as
``ghee serve``'s worker would; the browser keeps its sign-in across sessions. Screenshots
of the pages go to var/screenshots/ (git-ignored).
"""

from pathlib import Path

import pytest

from ghee.accounts.services import create_token
from ghee.content.models import Collection, Item, ItemLocale, Job
from ghee.content.write.jobs import run_pending_jobs
from ghee.media.models import MediaAsset
from tests.browser.conftest import shot, sign_in
from tests.media.samples import png_bytes

pytestmark = pytest.mark.slow

PASSWORD = "a long enough passphrase 42"
# One field of every type: (key, type, options typed into the schema editor).
FIELDS = [
    ("title", "short_text", {"required": True}),
    ("summary", "long_text", {}),
    ("body", "wysiwyg", {}),
    ("snippet", "html", {}),
    ("rank", "number", {"min_value": "0"}),
    ("when", "date", {}),
    ("featured", "checkbox", {}),
    ("size", "dropdown", {"choices": '["small", "large"]'}),
    ("tint", "color", {}),
    ("photo", "media", {}),
    ("related", "reference", {"reference_to": "articles"}),
]


def add_field(page, index: int, key: str, kind: str, options: dict) -> None:
    page.click(".ghee-fields .add-row a")
    prefix = f"#id_fields-{index}-"
    page.fill(f"{prefix}key", key)
    page.select_option(f"{prefix}type", kind)
    for name, value in options.items():
        if value is True:
            page.check(f"{prefix}{name}")
        else:
            page.fill(f"{prefix}{name}", value)


def fill_item(page, prefix: str, title: str, *, photo: Path | None, related: int | None):
    page.fill(f"#id_{prefix}-title", title)
    page.fill(f"#id_{prefix}-summary", f"{title}: a summary")
    editor = page.locator(f"#locale-{prefix} .field-body .ProseMirror[contenteditable=true]")
    editor.click()
    page.keyboard.type(f"Rich {title}")
    page.fill(f"#id_{prefix}-snippet", "<p>html</p>")
    page.fill(f"#id_{prefix}-rank", "3")
    page.fill(f"#id_{prefix}-when", "2024-03-15T10:30:00")
    page.check(f"#id_{prefix}-featured")
    page.select_option(f"#id_{prefix}-size", "large")
    page.fill(f"#id_{prefix}-tint", "#FF8800")
    if photo is not None:
        page.set_input_files(f"#id_{prefix}-photo__upload", str(photo))
    if related is not None:
        # The reference picker searches the target collection as the editor types.
        page.click(f"#locale-{prefix} .field-related .select2-selection")
        page.fill(".select2-search__field", "First")
        page.click(f".select2-results__option:has-text('#{related}')")


def test_build_a_schema_then_write_publish_and_unpublish_in_the_browser(
    browser_session, live_server, django_user_model, org_locales, api, tmp_path
):
    django_user_model.objects.create_superuser("editor", "editor@example.com", PASSWORD)
    read_token = create_token(org_locales, "read")[1]
    base = live_server.url.replace("localhost", "127.0.0.1")
    photo = tmp_path / "red.png"
    photo.write_bytes(png_bytes(40, 30))

    def build_schema(page):
        sign_in(page, base, "editor", PASSWORD)
        page.goto(f"{base}/admin/content/collection/add/")
        page.select_option("#id_organization", label="Globex")
        page.fill("#id_key", "articles")
        page.fill("#id_name", "Articles")
        page.fill("#id_label_field", "title")
        for index, (key, kind, options) in enumerate(FIELDS):
            add_field(page, index, key, kind, options)
        # Only the type's options are shown: a number has min/max, no pattern or choices.
        hidden = {
            name: page.locator(f"#id_fields-4-{name}").is_hidden()
            for name in ("min_value", "pattern", "choices", "reference_to")
        }
        shot(page, "schema-editor")
        page.click("input[name=_save]")
        page.wait_for_url(f"{base}/admin/content/collection/")
        return hidden

    hidden = browser_session(build_schema)
    assert hidden == {"min_value": False, "pattern": True, "choices": True, "reference_to": True}
    articles = Collection.objects.get(key="articles")
    assert [(f.key, f.type) for f in articles.fields.order_by("order")] == [
        (key, kind) for key, kind, _ in FIELDS
    ]

    def create_first(page):
        page.goto(f"{base}/admin/content/item/")
        page.click("#collections a:has-text('Articles')")
        page.click("a.addlink:has-text('Add item')")
        page.wait_for_url(f"{base}/admin/content/item/{articles.pk}/add/")
        fill_item(page, "en", "First", photo=None, related=None)
        page.click("button[data-tab=locale-es]")
        fill_item(page, "es", "Primero", photo=None, related=None)
        page.click("button[value=publish]")
        page.wait_for_url("**/admin/content/item/jobs/*/")
        return page.url

    job_url = browser_session(create_first)
    assert run_pending_jobs() == 1
    first = Item.objects.get(collection=articles)

    def create_second(page):
        page.goto(job_url)
        outcome = page.inner_text("#outcome")
        page.goto(f"{base}/admin/content/item/{articles.pk}/add/")
        fill_item(page, "en", "Second", photo=photo, related=first.pk)
        page.click("button[data-tab=locale-es]")
        fill_item(page, "es", "Segundo", photo=None, related=first.pk)
        shot(page, "item-form")
        page.click("button[value=publish]")
        page.wait_for_url("**/admin/content/item/jobs/*/")
        return outcome

    assert browser_session(create_second) == "Done."
    assert run_pending_jobs() == 1
    second = Item.objects.exclude(pk=first.pk).get(collection=articles)
    asset = MediaAsset.objects.get()

    for locale, title in (("en", "Second"), ("es", "Segundo")):
        body = api.get(
            f"/v2/content/articles/{second.pk}/",
            {"auth_token": read_token, "locale": locale, "levels": 2},
        ).json()["data"]
        assert body["title"] == title
        assert body["body"] == f"<p>Rich {title}</p>"
        assert (body["rank"], body["featured"], body["size"]) == (3, True, "large")
        assert (body["when"], body["tint"]) == ("2024-03-15T10:30:00", "#ff8800")
        assert body["related"]["title"] in ("First", "Primero")
    en = api.get(f"/v2/content/articles/{second.pk}/", {"auth_token": read_token}).json()
    assert en["data"]["photo"] == asset.url

    def unpublish(page):
        page.goto(f"{base}/admin/content/item/{articles.pk}/")
        shot(page, "item-list")
        listed = page.inner_text("#items")
        page.click(f"a[href='/admin/content/item/{articles.pk}/{second.pk}/']")
        page.click("button[value=unpublish]")
        page.wait_for_url("**/admin/content/item/jobs/*/")
        return listed

    listed = browser_session(unpublish)
    assert "Second" in listed and "en: published" in listed and "es: published" in listed
    assert run_pending_jobs() == 1
    assert Job.objects.latest("id").status == "succeeded"
    assert set(ItemLocale.objects.filter(item=second).values_list("status", flat=True)) == {"draft"}

    unpublished_job = Job.objects.latest("id").pk

    def outcome(page):
        page.goto(f"{base}/admin/content/item/jobs/{unpublished_job}/")
        shot(page, "job-outcome")
        text = page.inner_text("#content-main")
        page.goto(f"{base}/admin/content/item/")
        shot(page, "content-home")
        return text

    text = browser_session(outcome)
    assert f"Unpublish item #{second.pk} in Articles, asked by editor." in text
    assert "Done." in text
    # Unpublished means not publicly available: the Read API no longer serves it.
    read = api.get(f"/v2/content/articles/{second.pk}/", {"auth_token": read_token})
    assert read.status_code == 404
