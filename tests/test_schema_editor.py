"""The schema editor (/admin/content/collection/): options per type, order, label, and a
confirmation before a field's values are deleted (issue 11 item 3)."""

import json
import re
from html import unescape

from django.db import connection
from django.test.utils import CaptureQueriesContext

from ghee.content.field_types import FIELD_TYPES
from ghee.content.models import Collection, Field, ItemLocale
from tests.conftest import make_collection
from tests.read_factories import put_item


def change_url(collection):
    return f"/admin/content/collection/{collection.pk}/change/"


def form_data(collection, fields, **extra) -> dict:
    """The change form's POST for ``fields``: (Field or None, {key, type, ...options})."""
    data = {
        "name": collection.name,
        "label_field": collection.label_field,
        "fields-TOTAL_FORMS": str(len(fields)),
        "fields-INITIAL_FORMS": str(sum(1 for model, _ in fields if model)),
        **extra,
    }
    for index, (model, values) in enumerate(fields):
        row = {
            "name": "",
            "order": str(index),
            "translatable": "on",
            "choices": "[]",
            "default": "null",
            **values,
        }
        if model is not None:
            row["id"] = str(model.pk)
        data |= {f"fields-{index}-{name}": value for name, value in row.items()}
    return data


def test_each_type_select_says_which_options_its_type_takes(admin_client, team_members):
    page = admin_client.get(change_url(team_members)).content.decode()
    attribute = re.search(r'data-ghee-type-options="([^"]+)"', page).group(1)
    by_type = json.loads(unescape(attribute))
    assert set(by_type) == set(FIELD_TYPES)
    assert by_type["short_text"] == ["min_length", "max_length", "pattern"]
    assert by_type["number"] == ["min_value", "max_value"]
    assert by_type["dropdown"] == ["choices"]
    assert by_type["reference"] == ["reference_to", "many", "-default"]
    assert by_type["date"] == []
    assert "content/schema_editor.js" in page


def test_help_texts_render_as_text_and_the_label_offers_field_keys(admin_client, org):
    collection = make_collection(
        org,
        "members",
        [
            {"key": "name", "type": "short_text"},
            {"key": "team", "type": "reference", "reference_to": "members"},
        ],
    )
    page = admin_client.get(change_url(collection)).content.decode()
    assert "regex:&lt;expression&gt;" in page
    assert "regex:<expression>" not in page
    datalist = re.search(r'<datalist id="ghee-field-keys">(.*?)</datalist>', page, re.S).group(1)
    assert re.findall(r'value="([^"]+)"', datalist) == ["name"]  # no reference as a label


def test_removing_a_field_with_values_asks_first_and_counts_the_items(admin_client, team_members):
    for n in range(3):
        put_item(team_members, {"name": f"P{n}", "position": "x"})
    name, position = team_members.fields.order_by("order")
    only_name = form_data(
        team_members, [(name, {"key": "name", "type": "short_text", "required": "on"})]
    )
    page = admin_client.post(change_url(team_members), only_name)
    assert page.status_code == 200
    assert "Removing field &#x27;position&#x27; deletes its values from 3 items." in (
        page.content.decode()
    )
    assert Field.objects.filter(pk=position.pk).exists()

    done = admin_client.post(change_url(team_members), {**only_name, "confirm_removal": "on"})
    assert done.status_code == 302
    assert not Field.objects.filter(pk=position.pk).exists()
    assert {tuple(v) for v in ItemLocale.objects.values_list("data", flat=True)} == {("name",)}


def test_removing_a_field_of_an_empty_collection_needs_no_confirmation(admin_client, team_members):
    name, _ = team_members.fields.order_by("order")
    data = form_data(team_members, [(name, {"key": "name", "type": "short_text"})])
    assert admin_client.post(change_url(team_members), data).status_code == 302
    assert list(team_members.fields.values_list("key", flat=True)) == ["name"]


def test_a_type_change_is_refused_while_items_exist_and_says_how_many(admin_client, team_members):
    put_item(team_members, {"name": "Ada"})
    name, position = team_members.fields.order_by("order")
    data = form_data(
        team_members,
        [
            (name, {"key": "name", "type": "short_text"}),
            (position, {"key": "position", "type": "number"}),
        ],
    )
    page = unescape(admin_client.post(change_url(team_members), data).content.decode())
    assert "cannot change 'type' from 'short_text' to 'number'" in page
    assert "The collection has 1 items." in page
    assert Field.objects.get(pk=position.pk).type == "short_text"


def test_reordering_and_adding_fields_go_through_save_collection(admin_client, team_members):
    name, position = team_members.fields.order_by("order")
    before = team_members.updated_at
    data = form_data(
        team_members,
        [
            (position, {"key": "position", "type": "short_text", "order": "0"}),
            (name, {"key": "name", "type": "short_text", "order": "1"}),
            (None, {"key": "tint", "type": "color", "order": "2", "default": '"#ABC"'}),
        ],
    )
    assert admin_client.post(change_url(team_members), data).status_code == 302
    team_members.refresh_from_db()
    assert team_members.updated_at > before
    assert list(team_members.fields.order_by("order").values_list("key", "default")) == [
        ("position", None),
        ("name", None),
        ("tint", "#aabbcc"),
    ]


def test_the_collection_list_counts_items_without_a_query_per_row(admin_client, org, team_members):
    put_item(team_members, {"name": "Ada"})
    with CaptureQueriesContext(connection) as few:
        page = admin_client.get("/admin/content/collection/")
    link = f'<a href="/admin/content/item/{team_members.pk}/">1</a>'
    assert link in page.content.decode()
    for n in range(10):
        make_collection(org, f"c{n}", [{"key": "name", "type": "short_text"}])
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get("/admin/content/collection/").status_code == 200
    assert len(many) == len(few)
    assert Collection.objects.count() == 11


def test_a_field_without_a_default_shows_an_empty_box_and_saves_as_none(admin_client, org):
    collection = make_collection(
        org,
        "notes",
        [
            {"key": "title", "type": "short_text"},
            {"key": "tint", "type": "color", "default": "#ABC"},
        ],
    )
    page = admin_client.get(change_url(collection)).content.decode()
    boxes = dict(re.findall(r'<textarea name="fields-(\d)-default"[^>]*>\n?(.*?)</textarea>', page))
    assert boxes == {"0": "", "1": "&quot;#ABC&quot;"}  # no JSON null for "no default"
    title, tint = collection.fields.order_by("order")
    data = form_data(
        collection,
        [(title, {"key": "title", "type": "short_text", "default": ""}),
         (tint, {"key": "tint", "type": "color", "default": '"#ABC"'})],
    )  # fmt: skip
    assert admin_client.post(change_url(collection), data).status_code == 302
    defaults = collection.fields.order_by("order").values_list("default", flat=True)
    assert list(defaults) == [None, "#aabbcc"]  # the color type normalises its value
