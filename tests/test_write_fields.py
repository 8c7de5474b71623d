"""Each field type's accepted values (and their stored form) and rejected values, over HTTP."""

import pytest

from ghee.content.models import Item, ItemFieldIndex, ItemLocale, Job
from ghee.content.write.jobs import run_pending_jobs
from tests.conftest import make_collection

FIELDS = [
    {"key": "title", "type": "short_text", "min_length": 2, "max_length": 10},
    {"key": "body", "type": "long_text"},
    {"key": "rich", "type": "wysiwyg"},
    {"key": "raw", "type": "html"},
    {"key": "count", "type": "number", "min_value": -100, "max_value": 1000},
    {"key": "when", "type": "date"},
    {"key": "active", "type": "checkbox"},
    {"key": "size", "type": "dropdown", "choices": [{"label": "Small", "value": "s"}, "m"]},
    {"key": "tint", "type": "color"},
    {"key": "photo", "type": "media"},
    {"key": "email", "type": "short_text", "pattern": "email"},
    {"key": "site", "type": "short_text", "pattern": "url"},
    {"key": "phone", "type": "short_text", "pattern": "us_phone"},
    {"key": "zip", "type": "short_text", "pattern": "us_zip"},
    {"key": "code", "type": "short_text", "pattern": "regex:[A-Z]{3}-\\d+"},
    {"key": "lead", "type": "reference", "reference_to": "team_members"},
    {"key": "crew", "type": "reference", "reference_to": "team_members", "many": True},
]


@pytest.fixture
def kitchen(org, team_members):
    return make_collection(org, "kitchen", FIELDS)


@pytest.fixture
def members(api, write_token, team_members):
    """Two live team members and one deleted one, created through the API."""
    api.post(
        "/v2/content/",
        {"key": "team_members", "fields": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    run_pending_jobs()
    ids = list(Item.objects.order_by("id").values_list("id", flat=True))
    response = api.delete(
        f"/v2/content/team_members/{ids[2]}/", HTTP_AUTHORIZATION=f"Token {write_token}"
    )
    assert response.status_code == 204
    run_pending_jobs()
    return ids


def create(api, token, values):
    return api.post(
        "/v2/content/",
        {"key": "kitchen", "status": "published", "fields": [values]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )


def stored(api, token, values) -> dict:
    response = create(api, token, values)
    assert response.status_code == 202, response.json()
    run_pending_jobs()
    job = Job.objects.order_by("-id").first()
    assert job.status == "succeeded", job.errors
    return ItemLocale.objects.get(item_id=job.result["item_ids"][0]).data


@pytest.mark.parametrize(
    ("key", "given", "expected"),
    [
        ("title", "Hello", "Hello"),
        ("title", "", ""),
        ("body", "# Markdown\n\nlong " * 100, "# Markdown\n\nlong " * 100),
        ("rich", "<p>hi</p>", "<p>hi</p>"),
        ("raw", "<div>x</div>", "<div>x</div>"),
        ("count", 5, 5),
        ("count", -15.5, -15.5),
        ("count", "42", 42),
        ("count", " 2.5 ", 2.5),
        ("count", "1e2", 100.0),
        ("count", "", None),
        ("when", "2024-03-15", "2024-03-15T00:00:00"),
        ("when", "2024-03-15T14:30:00", "2024-03-15T14:30:00"),
        ("when", "2024-03-15T14:30", "2024-03-15T14:30:00"),
        ("when", "2024-03-15T14:30:00.123456", "2024-03-15T14:30:00"),
        ("when", "2024-03-15T14:30:00Z", "2024-03-15T14:30:00"),
        ("when", "2024-03-15T14:30:00+02:00", "2024-03-15T12:30:00"),
        ("when", "2024-03-15T23:30:00-02:00", "2024-03-16T01:30:00"),
        ("active", True, True),
        ("active", False, False),
        ("active", "true", True),
        ("active", 0, False),
        ("size", "s", "s"),
        ("size", "m", "m"),
        ("tint", "#A1B2C3", "#a1b2c3"),
        ("tint", "#abc", "#aabbcc"),
        ("photo", None, None),
        ("email", "a@example.com", "a@example.com"),
        ("site", "https://example.com/x", "https://example.com/x"),
        ("phone", "(555) 123-4567", "(555) 123-4567"),
        ("phone", "+1 555.123.4567", "+1 555.123.4567"),
        ("zip", "12345-6789", "12345-6789"),
        ("code", "ABC-12", "ABC-12"),
        ("crew", [], []),
        ("crew", None, []),
        ("lead", "", None),
    ],
)
def test_valid_values_are_stored_in_canonical_form(api, write_token, kitchen, key, given, expected):
    data = stored(api, write_token, {key: given})
    assert data[key] == expected
    assert set(data) == {spec["key"] for spec in FIELDS}  # every schema key is present


@pytest.mark.parametrize(
    ("key", "given", "message"),
    [
        ("title", 5, "Not a valid string."),
        ("title", ["a"], "Not a valid string."),
        ("title", {"a": 1}, "Not a valid string."),
        ("title", "x", "Ensure this field has at least 2 characters."),
        ("title", "x" * 11, "Ensure this field has no more than 10 characters."),
        ("count", "five", "A valid number is required."),
        ("count", True, "A valid number is required."),
        ("count", [1], "A valid number is required."),
        ("count", "NaN", "A valid number is required."),
        ("count", "1e999", "A valid number is required."),
        ("count", 10**20, "Ensure this value is between -9007199254740991 and 9007199254740991."),
        ("count", 1001, "Ensure this value is less than or equal to 1000."),
        ("count", -101, "Ensure this value is greater than or equal to -100."),
        ("when", "15/03/2024", None),
        ("when", "2024-02-30", None),
        ("when", 20240315, None),
        ("when", "tomorrow", None),
        ("active", "maybe", "Must be a valid boolean."),
        ("active", 2, "Must be a valid boolean."),
        ("size", "xl", '"xl" is not a valid choice.'),
        ("size", "Small", '"Small" is not a valid choice.'),
        ("size", ["s"], "\"['s']\" is not a valid choice."),
        ("tint", "red", "Enter a color as #rrggbb."),
        ("tint", "#12345g", "Enter a color as #rrggbb."),
        ("photo", "ftp://example.com/a.jpg", "Enter a valid http(s) URL."),
        ("photo", "javascript:alert(1)", "Enter a valid http(s) URL."),
        ("photo", "not a url", "Enter a valid http(s) URL."),
        ("photo", 7, "Enter a valid http(s) URL."),
        ("email", "nope", "Enter a valid email address."),
        ("site", "example", "Enter a valid URL."),
        ("phone", "12345", "Enter a valid US phone number."),
        ("zip", "1234", "Enter a valid US ZIP code."),
        ("code", "abc-12", "This value does not match the required pattern."),
        ("lead", "abc", "Expected an item id (an integer)."),
        ("lead", True, "Expected an item id (an integer)."),
        ("lead", -1, "Expected an item id (an integer)."),
        ("lead", [1], "Expected an item id (an integer)."),
        ("crew", 5, 'Expected a list of item ids but got type "number".'),
        ("crew", ["x"], "Expected an item id (an integer)."),
    ],
)
def test_invalid_values_are_400_naming_the_field(api, write_token, kitchen, key, given, message):
    response = create(api, write_token, {key: given})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["fields"] and list(body["fields"]) == ["0"]
    assert list(body["fields"]["0"]) == [key]
    (got,) = body["fields"]["0"][key]
    if message is None:
        assert got.startswith("Date has wrong format.")
    else:
        assert got == message
    assert not Job.objects.exists()


def test_references_are_stored_as_ids_and_indexed(api, write_token, kitchen, members):
    a, b, _ = members
    data = stored(api, write_token, {"lead": str(a), "crew": [b, a, b]})
    assert data["lead"] == a
    assert data["crew"] == [b, a]  # duplicates dropped, order kept
    item_id = Job.objects.order_by("-id").first().result["item_ids"][0]
    rows = set(
        ItemFieldIndex.objects.filter(item_id=item_id, published=True).values_list(
            "field_key", "text_value", "number_value"
        )
    )
    assert rows == {
        ("lead", str(a), float(a)),
        ("crew", str(b), float(b)),
        ("crew", str(a), float(a)),
    }


def test_references_to_missing_deleted_or_foreign_items_are_400(api, write_token, kitchen, members):
    a, _, deleted = members
    response = create(api, write_token, {"lead": deleted, "crew": [a, 999999]})
    assert response.status_code == 400
    assert response.json() == {
        "fields": {
            "0": {
                "lead": [f'Item {deleted} does not exist in collection "team_members".'],
                "crew": ['Item 999999 does not exist in collection "team_members".'],
            }
        }
    }
    # An item of another collection is not a team member either.
    kitchen_item = stored(api, write_token, {"title": "ok"})
    assert kitchen_item["title"] == "ok"
    other = Item.objects.filter(collection=kitchen).get().pk
    response = create(api, write_token, {"lead": other})
    assert response.status_code == 400


def test_index_rows_follow_the_shared_rules(api, write_token, kitchen):
    stored(
        api,
        write_token,
        {
            "title": "Hi",
            "count": 7,
            "active": False,
            "when": "2024-01-02",
            "tint": "#FFFFFF",
            "body": "x" * 300,
        },
    )
    rows = {
        key: (text, number)
        for key, text, number in ItemFieldIndex.objects.filter(published=False).values_list(
            "field_key", "text_value", "number_value"
        )
    }
    assert rows == {
        "title": ("Hi", None),
        "count": (None, 7.0),
        "active": ("false", None),
        "when": ("2024-01-02T00:00:00", None),
        "tint": ("#ffffff", None),
        "body": ("x" * 255, None),
    }


def test_defaults_fill_omitted_fields_and_satisfy_required(api, write_token, org):
    make_collection(
        org,
        "settings",
        [
            {"key": "name", "type": "short_text", "required": True, "default": "unnamed"},
            {"key": "on", "type": "checkbox", "default": True},
            {"key": "level", "type": "number", "default": "3"},
        ],
    )
    response = api.post(
        "/v2/content/",
        {"key": "settings", "fields": [{}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code == 202
    run_pending_jobs()
    assert ItemLocale.objects.get().data == {"name": "unnamed", "on": True, "level": 3}


def test_required_fields_of_every_type(api, write_token, org, team_members):
    make_collection(
        org,
        "strict",
        [
            {"key": "n", "type": "number", "required": True},
            {"key": "c", "type": "checkbox", "required": True},
            {"key": "r", "type": "reference", "reference_to": "team_members", "required": True},
            {
                "key": "rs",
                "type": "reference",
                "reference_to": "team_members",
                "many": True,
                "required": True,
            },
        ],
    )
    response = api.post(
        "/v2/content/",
        {"key": "strict", "fields": [{"n": "", "c": False, "rs": []}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code == 400
    assert response.json() == {
        "fields": {
            "0": {
                "n": ["This field may not be blank."],
                "rs": ["This list may not be empty."],
                "r": ["This field is required."],
            }
        }
    }


# --- A reference may be what a read returns ---------------------------------------------------


def uri(key: str, item_id: int) -> str:
    return f"/v2/content/?keys={key}[_id={item_id}]"


def test_a_reference_may_be_an_item_object_or_its_uri(api, write_token, kitchen, members):
    a, b, _ = members
    data = stored(
        api,
        write_token,
        {
            "lead": {"meta": {"id": a}, "name": "a"},
            "crew": [uri("team_members", b), {"meta": {"id": a}}, str(b), a],
        },
    )
    assert (data["lead"], data["crew"]) == (a, [b, a])
    data = stored(api, write_token, {"lead": uri("team_members", b)})
    assert data["lead"] == b


@pytest.mark.parametrize(
    ("key", "given", "message"),
    [
        ("lead", {"meta": {}}, 'Expected an item id or an item object with "meta": {"id": ...}.'),
        ("lead", {"id": 1}, 'Expected an item id or an item object with "meta": {"id": ...}.'),
        ("lead", {"meta": {"id": "x"}}, "Expected an item id (an integer)."),
        ("lead", uri("kitchen", 1), 'The URI names collection "kitchen", not "team_members".'),
        ("lead", "/v2/content/team_members/1/", "Expected an item id or a /v2/content/?keys="),
        ("crew", [uri("kitchen", 1)], 'The URI names collection "kitchen", not "team_members".'),
    ],
)
def test_a_malformed_reference_object_or_uri_is_400(
    api, write_token, kitchen, members, key, given, message
):
    response = create(api, write_token, {key: given})
    assert response.status_code == 400
    (got,) = response.json()["fields"]["0"][key]
    assert got.startswith(message)


@pytest.mark.parametrize("levels", ["1", "2"])
def test_an_item_read_and_sent_back_is_a_valid_write(api, write_token, kitchen, members, levels):
    """What a read returns (references as objects, or as URIs at the depth limit, and the
    item's own meta) can be sent back as a PUT, beside and inside "fields"."""
    a, b, _ = members
    stored(api, write_token, {"title": "Hi", "lead": a, "crew": [b, a], "tint": "#abc"})
    item_id = Job.objects.order_by("-id").first().result["item_ids"][0]
    read = api.get(
        f"/v2/content/kitchen/{item_id}/",
        {"auth_token": write_token, "levels": levels, "preview": "1"},  # the members are drafts
    ).json()["data"]
    kinds = (type(read["lead"]), type(read["crew"][0]))
    assert kinds == ((str, str) if levels == "1" else (dict, dict))
    before = ItemLocale.objects.get(item_id=item_id).data
    body = {"id": item_id, "meta": read["meta"], "status": "published", "fields": read}
    response = api.put(
        f"/v2/content/kitchen/{item_id}/",
        body,
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code == 202, response.json()
    run_pending_jobs()
    assert Job.objects.order_by("-id").first().status == "succeeded"
    after = ItemLocale.objects.get(item_id=item_id).data
    given = ("title", "lead", "crew", "tint")
    assert {k: after[k] for k in given} == {k: before[k] for k in given}
    # Empty values come back as the read shows them ("" for text-like fields, false for a
    # checkbox): still empty, in the read's words.
    assert all(after[k] in ("", None, False) for k in after if k not in given)


def test_a_schema_pattern_that_backtracks_refuses_the_value_instead_of_hanging(
    api, write_token, org
):
    # `(a|aa)+$` takes exponential time on "aaa...a!" (with `re` and with `regex`): at 40
    # characters, longer than anyone waits. The match is stopped at
    # GHEE_SCHEMA_PATTERN_TIMEOUT_MS.
    make_collection(
        org, "codes", [{"key": "code", "type": "short_text", "pattern": "regex:(a|aa)+$"}]
    )
    response = api.post(
        "/v2/content/",
        {"key": "codes", "fields": [{"code": "a" * 40 + "!"}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code == 400
    (message,) = response.json()["fields"]["0"]["code"]
    assert "GHEE_SCHEMA_PATTERN_TIMEOUT_MS" in message
    assert not Job.objects.exists()
    # The same pattern still decides ordinary values.
    ok = api.post(
        "/v2/content/",
        {"key": "codes", "fields": [{"code": "aaaa"}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert ok.status_code == 202
