"""Schema as code: the file format, its validation, apply (idempotent, --prune), export."""

import json
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from ghee.accounts.services import create_organization
from ghee.content.models import Collection, Field, Item, ItemFieldIndex, ItemLocale
from ghee.content.schema.document import SchemaError, dump_data, load_text, validate_document
from ghee.content.schema.services import apply_schema, export_schema

ISSUE_EXAMPLE = """
collections:
  - key: team_members
    name: Team Members
    label: name
    fields:
      - {key: name, type: short_text, required: true, max_length: 120}
      - {key: position, type: short_text}
      - {key: email, type: short_text, pattern: email}
      - {key: photo, type: media}
      - {key: level, type: dropdown, choices: [junior, senior]}
      - {key: department, type: reference, to: departments, many: false}
  - key: departments
    fields:
      - {key: name, type: short_text}
"""

# Every type and every option at least once.
FULL_EXAMPLE = {
    "collections": [
        {
            "key": "everything",
            "name": "All The Things",
            "label": "title",
            "fields": [
                {
                    "key": "title",
                    "name": "Headline",
                    "type": "short_text",
                    "required": True,
                    "min_length": 2,
                    "max_length": 80,
                    "pattern": "regex:^[A-Z].*$",
                    "default": "Untitled",
                    "help_text": "Shown as the label",
                },
                {"key": "summary", "type": "long_text", "pattern": "url", "translatable": False},
                {"key": "body", "type": "wysiwyg", "max_length": 5000},
                {"key": "embed", "type": "html"},
                {"key": "price", "type": "number", "min": 0, "max": 99.5, "default": 10},
                {"key": "launch", "type": "date", "default": "2024-03-15"},
                {"key": "active", "type": "checkbox", "default": True},
                {
                    "key": "size",
                    "type": "dropdown",
                    "choices": [{"label": "Small", "value": "s"}, {"label": "Large", "value": "l"}],
                    "default": "s",
                },
                {"key": "tint", "type": "color", "default": "#A1B2C3"},
                {"key": "image", "type": "media", "required": True},
                {"key": "related", "type": "reference", "to": "everything", "many": True},
                {"key": "phone", "type": "short_text", "pattern": "us_phone"},
                {"key": "zip", "type": "short_text", "pattern": "us_zip"},
                {"key": "contact", "type": "short_text", "pattern": "email"},
            ],
        }
    ]
}


def collection_doc(*fields, key="things", **extra) -> dict:
    return {"collections": [{"key": key, "fields": list(fields), **extra}]}


def errors_of(data, known=()) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        validate_document(data, known)
    return caught.value.errors


# --- Validation (pure) -----------------------------------------------------------------


def test_issue_example_is_valid_and_stores_every_option():
    document = validate_document(load_text(ISSUE_EXAMPLE))
    members = document.collections[0]
    assert (members.key, members.name, members.label) == ("team_members", "Team Members", "name")
    name, _, email, _, level, department = members.fields
    assert (name.required, name.max_length) == (True, 120)
    assert email.pattern == "email"
    assert level.choices == ("junior", "senior")
    assert (department.reference_to, department.many) == ("departments", False)
    assert name.translatable is True
    assert document.collections[1].name == "Departments"  # derived from the key


def test_defaults_are_stored_in_canonical_form():
    fields = {f.key: f for f in validate_document(FULL_EXAMPLE).collections[0].fields}
    assert fields["launch"].default == "2024-03-15T00:00:00"
    assert fields["tint"].default == "#a1b2c3"
    assert fields["price"].min_value == 0.0 and fields["price"].max_value == 99.5
    # Unquoted dates in YAML arrive as dates; they are stored the same way.
    yaml_doc = load_text(
        "collections:\n- key: e\n  fields:\n  - {key: d, type: date, default: 2024-03-15}\n"
    )
    assert validate_document(yaml_doc).collections[0].fields[0].default == "2024-03-15T00:00:00"
    aware = collection_doc({"key": "d", "type": "date", "default": "2024-03-15T12:00:00+02:00"})
    assert validate_document(aware).collections[0].fields[0].default == "2024-03-15T10:00:00"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "must be a mapping with a 'collections' list"),
        ({"collection": []}, "must be a mapping with a 'collections' list"),
        ({"collections": [], "version": 2}, "schema: unknown top-level key 'version'"),
        ({"collections": ["things"]}, "collections[0]: each collection must be a mapping"),
        ({"collections": [{"fields": []}]}, "collections[0]: missing 'key'"),
        ({"collections": [{"key": "Bad Key", "fields": []}]}, "collections[0]: invalid key"),
        (
            {"collections": [{"key": "a", "fields": []}, {"key": "a", "fields": []}]},
            "collection 'a': the key is used by another collection",
        ),
        (
            collection_doc(colour="red"),
            "collection 'things': unknown option 'colour'",
        ),
        ({"collections": [{"key": "things"}]}, "collection 'things': 'fields' must be a list"),
        (collection_doc(name=5), "collection 'things': 'name' must be a string"),
        (
            collection_doc({"key": "a", "type": "short_text"}, label="nope"),
            "collection 'things': label 'nope' is not one of the collection's fields",
        ),
        (
            collection_doc({"key": "r", "type": "reference", "to": "things"}, label="r"),
            "collection 'things': label 'r' is a reference field",
        ),
        (collection_doc("title"), "collection 'things', fields[0]: each field must be a mapping"),
        (collection_doc({"type": "short_text"}), "collection 'things', fields[0]: missing 'key'"),
        (
            collection_doc({"key": "First Name", "type": "short_text"}),
            "collection 'things', fields[0]: invalid key 'First Name'",
        ),
        (
            collection_doc({"key": "meta", "type": "short_text"}),
            "collection 'things', field 'meta': 'meta' is reserved",
        ),
        (
            collection_doc({"key": "a", "type": "short_text"}, {"key": "a", "type": "number"}),
            "collection 'things', field 'a': the key is used by another field",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "maxlength": 3}),
            "collection 'things', field 'a': unknown option 'maxlength'",
        ),
        (collection_doc({"key": "a"}), "collection 'things', field 'a': missing 'type'"),
        (
            collection_doc({"key": "a", "type": "text"}),
            "collection 'things', field 'a': unknown type 'text' (one of short_text,",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "required": "yes"}),
            "collection 'things', field 'a': 'required' must be true or false",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "translatable": 1}),
            "collection 'things', field 'a': 'translatable' must be true or false",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "max_length": -1}),
            "collection 'things', field 'a': 'max_length' must be a whole number >= 0",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "min_length": 5, "max_length": 2}),
            "collection 'things', field 'a': min_length 5 is greater than max_length 2",
        ),
        (
            collection_doc({"key": "a", "type": "number", "max_length": 5}),
            "collection 'things', field 'a': 'max_length' applies to text fields only, not number",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "pattern": "phone"}),
            "collection 'things', field 'a': unknown pattern 'phone' (one of email, url, "
            "us_phone, us_zip or regex:<expression>)",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "pattern": "regex:[a-z"}),
            "collection 'things', field 'a': 'pattern' '[a-z' is not a valid regular expression",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "pattern": "regex:"}),
            "collection 'things', field 'a': 'pattern' regex:<expression> has an empty expression",
        ),
        (
            collection_doc({"key": "a", "type": "checkbox", "pattern": "email"}),
            "collection 'things', field 'a': 'pattern' applies to text fields only, not checkbox",
        ),
        (
            collection_doc({"key": "a", "type": "number", "min": "1"}),
            "collection 'things', field 'a': 'min' must be a number",
        ),
        (
            collection_doc({"key": "a", "type": "number", "min": 10, "max": 1}),
            "collection 'things', field 'a': min 10 is greater than max 1",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "max": 3}),
            "collection 'things', field 'a': 'max' applies to number fields only, not short_text",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "choices": ["x"]}),
            "collection 'things', field 'a': 'choices' applies to dropdown fields only",
        ),
        (
            collection_doc({"key": "a", "type": "dropdown"}),
            "collection 'things', field 'a': a dropdown needs 'choices'",
        ),
        (
            collection_doc({"key": "a", "type": "dropdown", "choices": []}),
            "collection 'things', field 'a': a dropdown needs 'choices'",
        ),
        (
            collection_doc({"key": "a", "type": "dropdown", "choices": [True, "no"]}),
            "collection 'things', field 'a': choices[0] must be a non-empty string, not True",
        ),
        (
            collection_doc({"key": "a", "type": "dropdown", "choices": [{"value": "x"}]}),
            "collection 'things', field 'a': choices[0] must be a string or {label, value}",
        ),
        (
            collection_doc({"key": "a", "type": "dropdown", "choices": ["x", "x"]}),
            "collection 'things', field 'a': choice value 'x' appears twice",
        ),
        (
            collection_doc({"key": "a", "type": "reference"}),
            "collection 'things', field 'a': a reference needs 'to'",
        ),
        (
            collection_doc({"key": "a", "type": "reference", "to": "authors"}),
            "collection 'things', field 'a': 'to' names 'authors', which is not a collection "
            "in this file or organization",
        ),
        (
            collection_doc({"key": "a", "type": "reference", "to": "things", "many": "yes"}),
            "collection 'things', field 'a': 'many' must be true or false",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "to": "things"}),
            "collection 'things', field 'a': 'to' applies to reference fields only",
        ),
        (
            collection_doc({"key": "a", "type": "media", "many": True}),
            "collection 'things', field 'a': 'many' applies to reference fields only",
        ),
        (
            collection_doc({"key": "a", "type": "number", "default": "ten"}),
            "collection 'things', field 'a': default 'ten' is not valid: "
            "A valid number is required.",
        ),
        (
            collection_doc({"key": "a", "type": "number", "max": 5, "default": 6}),
            "collection 'things', field 'a': default 6 is not valid: "
            "Ensure this value is less than or equal to 5.",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "max_length": 2, "default": "abc"}),
            "collection 'things', field 'a': default 'abc' is not valid: Ensure this field has no "
            "more than 2 characters.",
        ),
        (
            collection_doc({"key": "a", "type": "checkbox", "default": "maybe"}),
            "collection 'things', field 'a': default 'maybe' is not valid: "
            "Must be a valid boolean.",
        ),
        (
            collection_doc({"key": "a", "type": "dropdown", "choices": ["x"], "default": "y"}),
            "collection 'things', field 'a': default 'y' is not valid: "
            '"y" is not a valid choice.',
        ),
        (
            collection_doc({"key": "a", "type": "color", "default": "red"}),
            "collection 'things', field 'a': default 'red' is not valid: Enter a color as #rrggbb.",
        ),
        (
            collection_doc({"key": "a", "type": "date", "default": "15/03/2024"}),
            "collection 'things', field 'a': default '15/03/2024' is not valid: "
            "Date has wrong format.",
        ),
        (
            collection_doc({"key": "a", "type": "reference", "to": "things", "default": 1}),
            "collection 'things', field 'a': default 1 reference fields take no default",
        ),
        (
            collection_doc({"key": "a", "type": "short_text", "help_text": ["x"]}),
            "collection 'things', field 'a': 'help_text' must be a string",
        ),
    ],
)
def test_validation_error_names_collection_and_field(data, expected):
    errors = errors_of(data)
    assert any(error.startswith(expected) or expected in error for error in errors), errors


def test_every_problem_is_reported_at_once():
    errors = errors_of(
        collection_doc(
            {"key": "a", "type": "strng"},
            {"key": "b", "type": "short_text", "pattern": "regex:("},
            {"key": "c", "type": "reference", "to": "nowhere"},
        )
    )
    assert len(errors) == 3
    assert [e.split(":")[0] for e in errors] == [
        "collection 'things', field 'a'",
        "collection 'things', field 'b'",
        "collection 'things', field 'c'",
    ]


def test_references_may_point_to_known_collections_outside_the_file():
    data = collection_doc({"key": "author", "type": "reference", "to": "people"})
    assert errors_of(data)
    document = validate_document(data, ["people"])
    assert document.collections[0].fields[0].reference_to == "people"


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("collections: [\n", "s.yaml", "s.yaml: not valid YAML:"),
        ('{"collections": [}', "s.json", "s.json: not valid JSON:"),
        ("collections: []\ncollections: []\n", "s.yaml", "line 2: the key 'collections' appears"),
    ],
)
def test_unreadable_files_say_where(text, name, expected):
    with pytest.raises(SchemaError) as caught:
        load_text(text, name)
    assert expected in caught.value.errors[0]


def test_json_and_yaml_read_the_same():
    as_json = json.dumps(FULL_EXAMPLE)
    assert validate_document(load_text(as_json, "s.json")) == validate_document(
        load_text(yaml.safe_dump(FULL_EXAMPLE), "s.yaml")
    )


# --- Apply and export (database) ----------------------------------------------------------


def test_apply_creates_collections_and_ordered_fields(org):
    result = apply_schema(org, load_text(ISSUE_EXAMPLE))
    assert result.changes == [
        "+ collection team_members (6 fields)",
        "+ collection departments (1 fields)",
    ]
    members = Collection.objects.get(organization=org, key="team_members")
    assert (members.name, members.label_field) == ("Team Members", "name")
    fields = list(members.fields.order_by("order"))
    assert [f.key for f in fields] == ["name", "position", "email", "photo", "level", "department"]
    assert [f.order for f in fields] == [0, 1, 2, 3, 4, 5]
    name = fields[0]
    assert (name.type, name.required, name.max_length, name.name) == (
        "short_text",
        True,
        120,
        "Name",
    )
    department = fields[-1]
    assert (department.reference_to, department.many) == ("departments", False)
    assert fields[4].choices == ["junior", "senior"]


def test_second_apply_changes_nothing(org):
    apply_schema(org, load_text(ISSUE_EXAMPLE))
    stamps = dict(Collection.objects.values_list("key", "updated_at"))
    field_rows = list(Field.objects.order_by("id").values())
    result = apply_schema(org, load_text(ISSUE_EXAMPLE))
    assert result.changes == []
    assert dict(Collection.objects.values_list("key", "updated_at")) == stamps
    assert list(Field.objects.order_by("id").values()) == field_rows


def test_export_apply_round_trip(org):
    other = create_organization("other", "Other")
    apply_schema(org, FULL_EXAMPLE)
    exported = export_schema(org)
    for fmt in ("yaml", "json"):
        text = dump_data(exported, fmt)
        assert apply_schema(org, load_text(text, f"s.{fmt}")).changes == []
        assert apply_schema(other, load_text(text, f"s.{fmt}")).changed
        assert export_schema(other) == exported
        Collection.objects.filter(organization=other).delete()
    assert load_text(dump_data(exported)) == exported


def test_export_leaves_out_defaults(org):
    apply_schema(org, load_text(ISSUE_EXAMPLE))
    exported = export_schema(org)
    members = next(c for c in exported["collections"] if c["key"] == "team_members")
    assert "name" not in members  # "Team Members" is what the key gives anyway
    assert members["fields"][1] == {"key": "position", "type": "short_text"}
    assert members["fields"][5] == {"key": "department", "type": "reference", "to": "departments"}
    full = apply_schema(org, FULL_EXAMPLE) and export_schema(org)
    everything = next(c for c in full["collections"] if c["key"] == "everything")
    assert everything["name"] == "All The Things"
    assert everything["fields"][0]["name"] == "Headline"
    assert everything["fields"][1]["translatable"] is False
    assert everything["fields"][4] == {
        "key": "price",
        "type": "number",
        "min": 0,
        "max": 99.5,
        "default": 10,
    }


def test_changing_a_field_updates_it_and_moves_updated_at(org):
    apply_schema(org, load_text(ISSUE_EXAMPLE))
    members = Collection.objects.get(organization=org, key="team_members")
    departments = Collection.objects.get(organization=org, key="departments")
    changed = load_text(ISSUE_EXAMPLE.replace("max_length: 120", "max_length: 200"))
    result = apply_schema(org, changed)
    assert result.changes == ["~ field team_members.name: max_length 120 -> 200"]
    assert Field.objects.get(collection=members, key="name").max_length == 200
    members_after = Collection.objects.get(pk=members.pk)
    assert members_after.updated_at > members.updated_at
    assert Collection.objects.get(pk=departments.pk).updated_at == departments.updated_at


def test_reordering_fields_is_a_change(org):
    apply_schema(org, collection_doc({"key": "a", "type": "number"}, {"key": "b", "type": "html"}))
    result = apply_schema(
        org, collection_doc({"key": "b", "type": "html"}, {"key": "a", "type": "number"})
    )
    assert result.changes == ["~ collection things: field order b, a"]
    assert list(Field.objects.order_by("order").values_list("key", flat=True)) == ["b", "a"]


def test_removing_needs_prune(org):
    apply_schema(org, load_text(ISSUE_EXAMPLE))
    smaller = collection_doc(
        {"key": "name", "type": "short_text", "required": True, "max_length": 120},
        key="team_members",
        name="Team Members",
        label="name",
    )
    kept = apply_schema(org, smaller)
    assert kept.changes == []
    assert "kept collection departments: not in the file (--prune deletes it)" in kept.notes
    assert "kept field team_members.photo: not in the file (--prune deletes it)" in kept.notes
    assert Field.objects.filter(collection__organization=org).count() == 7

    pruned = apply_schema(org, smaller, prune=True)
    assert "- field team_members.photo" in pruned.changes
    assert "- collection departments (0 items deleted)" in pruned.changes
    assert list(Collection.objects.filter(organization=org).values_list("key", flat=True)) == [
        "team_members"
    ]
    assert list(
        Field.objects.filter(collection__organization=org).values_list("key", flat=True)
    ) == ["name"]
    assert apply_schema(org, smaller, prune=True).changes == []


def test_prune_rejects_references_to_collections_it_would_delete(org):
    apply_schema(org, load_text(ISSUE_EXAMPLE))
    only_members = load_text(ISSUE_EXAMPLE.split("  - key: departments")[0])
    assert apply_schema(org, only_members).changes == []  # departments is kept: fine
    with pytest.raises(SchemaError) as caught:
        apply_schema(org, only_members, prune=True)
    assert caught.value.errors == [
        "collection 'team_members', field 'department': 'to' names 'departments', which is "
        "not a collection in this file or organization"
    ]
    assert Collection.objects.filter(organization=org).count() == 2


def test_apply_never_touches_another_organization(org):
    other = create_organization("other", "Other")
    apply_schema(other, load_text(ISSUE_EXAMPLE))
    apply_schema(org, collection_doc({"key": "a", "type": "number"}), prune=True)
    assert Collection.objects.filter(organization=other).count() == 2
    # ...and references only resolve inside the organization.
    with pytest.raises(SchemaError):
        apply_schema(org, collection_doc({"key": "r", "type": "reference", "to": "departments"}))


def test_dry_run_reports_and_changes_nothing(org):
    result = apply_schema(org, load_text(ISSUE_EXAMPLE), dry_run=True)
    assert result.changes == [
        "+ collection team_members (6 fields)",
        "+ collection departments (1 fields)",
    ]
    assert not Collection.objects.filter(organization=org).exists()


def _item(collection, data, published=None):
    item = Item.objects.create(collection=collection, organization=collection.organization)
    ItemLocale.objects.create(
        item=item, collection=collection, locale="", data=data, published_data=published
    )
    return item


def test_type_change_is_refused_while_items_exist(org):
    apply_schema(org, collection_doc({"key": "a", "type": "short_text"}))
    things = Collection.objects.get(key="things")
    _item(things, {"a": "hello"})
    with pytest.raises(SchemaError) as caught:
        apply_schema(org, collection_doc({"key": "a", "type": "number"}))
    assert caught.value.errors == [
        "collection 'things', field 'a': cannot change 'type' from 'short_text' to 'number' "
        "while the collection has items; add a field with a new key instead (and remove this "
        "one with --prune)"
    ]
    assert Field.objects.get(collection=things, key="a").type == "short_text"


def test_added_and_pruned_fields_follow_into_stored_items(org):
    apply_schema(org, collection_doc({"key": "a", "type": "short_text"}))
    things = Collection.objects.get(key="things")
    item = _item(things, {"a": "x"}, published={"a": "x"})
    ItemFieldIndex.objects.create(
        item=item, collection=things, locale="", published=True, field_key="a", text_value="x"
    )
    apply_schema(
        org, collection_doc({"key": "b", "type": "number"}), prune=True
    )  # a removed, b added
    version = ItemLocale.objects.get(item=item)
    assert version.data == {"b": None}
    assert version.published_data == {"b": None}
    assert not ItemFieldIndex.objects.filter(item=item).exists()


def test_the_dashboard_editor_saves_through_the_same_service(admin_client, org):
    """The editor's save is ``save_collection``: what apply would store, and a removed
    field's values leave the stored items (as with --prune)."""
    apply_schema(
        org,
        collection_doc({"key": "a", "type": "short_text"}, {"key": "b", "type": "number"}),
    )
    things = Collection.objects.get(key="things")
    item = _item(things, {"a": "x", "b": 1}, published={"a": "x", "b": 1})
    a, _ = things.fields.order_by("order")
    form = {
        "name": "Things",
        "label_field": "",
        "fields-TOTAL_FORMS": "1",
        "fields-INITIAL_FORMS": "1",
        "fields-0-id": str(a.pk),
        "fields-0-key": "a",
        "fields-0-name": "",
        "fields-0-type": "short_text",
        "fields-0-order": "0",
        "fields-0-translatable": "on",
        "fields-0-choices": "[]",
        "fields-0-default": '"#ABC"',
        "fields-0-max_length": "10",
        # Removing "b" deletes its values from the item: the editor asks first.
        "confirm_removal": "on",
    }
    response = admin_client.post(f"/admin/content/collection/{things.pk}/change/", form)
    assert response.status_code == 302
    assert export_schema(org)["collections"] == [
        {
            "key": "things",
            "fields": [{"key": "a", "type": "short_text", "max_length": 10, "default": "#ABC"}],
        }
    ]
    assert ItemLocale.objects.get(item=item).data == {"a": "x"}
    # A schema file's problem is the editor's problem, in the same words.
    form["fields-0-max_length"] = "2"
    page = admin_client.post(f"/admin/content/collection/{things.pk}/change/", form)
    assert page.status_code == 200
    assert b"default &#x27;#ABC&#x27; is not valid" in page.content


# --- Through the command ---------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_schema_command_apply_export_round_trip(org, tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(ISSUE_EXAMPLE)
    output = run("schema", "apply", str(path), "--org", "acme")
    assert "+ collection team_members (6 fields)" in output
    assert output.strip().endswith(f"Applied {path} to acme.")
    assert run("schema", "apply", str(path), "--org", "acme").strip() == (
        f"No changes: acme already matches {path}."
    )
    exported = run("schema", "export", "--org", "acme")
    again = tmp_path / "exported.yaml"
    again.write_text(exported)
    assert "No changes" in run("schema", "apply", str(again), "--org", "acme")
    as_json = json.loads(run("schema", "export", "--org", "acme", "--format", "json"))
    assert as_json == yaml.safe_load(exported)


def test_schema_command_lists_every_problem(org, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "collections:\n- key: x\n  fields:\n"
        "  - {key: a, type: strng}\n  - {key: b, type: reference}\n"
    )
    with pytest.raises(CommandError) as caught:
        run("schema", "apply", str(path), "--org", "acme")
    assert str(caught.value).splitlines() == [
        f"{path} has 2 problems:",
        "collection 'x', field 'a': unknown type 'strng' (one of short_text, long_text, wysiwyg, "
        "html, number, date, checkbox, dropdown, color, media, reference)",
        "collection 'x', field 'b': a reference needs 'to': the key of the collection it points to",
    ]
    assert not Collection.objects.exists()


def test_schema_command_unknown_org_and_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="no organization 'nope'"):
        run("schema", "export", "--org", "nope")
    create_organization("acme")
    with pytest.raises(CommandError, match="cannot read"):
        run("schema", "apply", str(tmp_path / "missing.yaml"), "--org", "acme")
