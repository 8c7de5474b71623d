"""R2 ``GET /v2/content/{key}/``: item shape and values, paging, filters, order, locales,
drafts vs preview, deleted items, errors, organization isolation."""

import pytest

from ghee.accounts.services import create_organization, create_token
from tests.conftest import make_collection
from tests.read_factories import delete_item, put_item

URL = "/v2/content/{}/"


def read(api, token, key, **params):
    return api.get(URL.format(key), {"auth_token": token, **params})


def items_of(response, key):
    assert response.status_code == 200, response.content
    return response.json()["data"][key]


def ids_of(response, key):
    return [item["meta"]["id"] for item in items_of(response, key)]


@pytest.fixture
def catalog(org):
    return make_collection(
        org,
        "catalog",
        [
            {"key": "title", "type": "short_text"},
            {"key": "body", "type": "long_text"},
            {"key": "content", "type": "wysiwyg"},
            {"key": "snippet", "type": "html"},
            {"key": "price", "type": "number"},
            {"key": "released", "type": "date"},
            {"key": "active", "type": "checkbox"},
            {"key": "size", "type": "dropdown", "choices": ["s", "m", "l"]},
            {"key": "tint", "type": "color"},
            {"key": "photo", "type": "media"},
        ],
    )


FULL = {
    "title": "Lamp",
    "body": "A *lamp*.",
    "content": "<p>Lamp</p>",
    "snippet": "<b>x</b>",
    "price": 12.5,
    "released": "2024-03-15T14:30:00",
    "active": True,
    "size": "m",
    "tint": "#a0b1c2",
    "photo": "http://127.0.0.1:8000/media/lamp.png",
}


# --- Shape and values ---------------------------------------------------------------------


def test_item_shape_values_and_schema_order(api, read_token, catalog):
    item = put_item(catalog, {**FULL, "price": 12})
    response = read(api, read_token, "catalog")
    body = response.json()
    assert list(body) == ["meta", "data"]
    assert list(body["meta"]) == ["count", "next_page", "previous_page"]
    [rendered] = body["data"]["catalog"]
    assert list(rendered) == ["meta", *[k for k in FULL]]
    assert rendered == {"meta": {"id": item.id}, **FULL, "price": 12}
    assert isinstance(rendered["price"], int)
    assert response["Content-Type"] == "application/json"


def test_float_numbers_stay_json_numbers(api, read_token, catalog):
    put_item(catalog, {"price": -15.5})
    [rendered] = items_of(read(api, read_token, "catalog"), "catalog")
    assert rendered["price"] == -15.5
    assert b'"price":-15.5' in read(api, read_token, "catalog").content


def test_empty_values(api, read_token, catalog):
    item = put_item(catalog, {})
    [rendered] = items_of(read(api, read_token, "catalog"), "catalog")
    assert rendered == {
        "meta": {"id": item.id},
        "title": "",
        "body": "",
        "content": "",
        "snippet": "",
        "price": None,
        "released": None,
        "active": False,
        "size": "",
        "tint": "",
        "photo": "",
    }


def test_alt_media_text(api, read_token, catalog):
    put_item(catalog, FULL)
    put_item(catalog, {"title": "no photo"})
    first, second = items_of(read(api, read_token, "catalog", alt_media_text=1), "catalog")
    assert first["photo"] == {"url": FULL["photo"], "alt": ""}
    assert second["photo"] == {"url": "", "alt": ""}
    assert first["title"] == "Lamp"


def test_fields_added_later_render_empty_and_removed_ones_vanish(api, read_token, team_members):
    item = put_item(team_members, {"name": "Ada", "position": "CEO"})
    team_members.fields.filter(key="position").delete()
    team_members.fields.create(key="email", type="short_text", order=5)
    [rendered] = items_of(read(api, read_token, "team_members"), "team_members")
    assert rendered == {"meta": {"id": item.id}, "name": "Ada", "email": ""}


def test_default_order_is_item_id_ascending(api, read_token, team_members):
    created = [put_item(team_members, {"name": n}).id for n in ["c", "a", "b"]]
    assert ids_of(read(api, read_token, "team_members"), "team_members") == sorted(created)


def test_head_answers_like_get_without_body(api, read_token, team_members):
    put_item(team_members, {"name": "Ada"})
    response = api.head(URL.format("team_members"), {"auth_token": read_token})
    assert response.status_code == 200
    assert response.content == b""


# --- Paging -------------------------------------------------------------------------------


@pytest.fixture
def twenty_five(team_members):
    return [put_item(team_members, {"name": f"m{n:02}"}).id for n in range(25)]


@pytest.mark.parametrize(
    ("params", "meta", "positions"),
    [
        ({}, {"count": 25, "next_page": 2, "previous_page": None}, range(0, 10)),
        ({"page": 1}, {"count": 25, "next_page": 2, "previous_page": None}, range(0, 10)),
        ({"page": 2}, {"count": 25, "next_page": 3, "previous_page": 1}, range(10, 20)),
        ({"page": 3}, {"count": 25, "next_page": None, "previous_page": 2}, range(20, 25)),
        ({"page": 4}, {"count": 25, "next_page": None, "previous_page": 3}, range(0)),
        (
            {"page_size": 5, "page": 5},
            {"count": 25, "next_page": None, "previous_page": 4},
            range(20, 25),
        ),
        (
            {"page_size": 5, "page": 4},
            {"count": 25, "next_page": 5, "previous_page": 3},
            range(15, 20),
        ),
        ({"page_size": 25}, {"count": 25, "next_page": None, "previous_page": None}, range(25)),
        ({"page_size": 24}, {"count": 25, "next_page": 2, "previous_page": None}, range(24)),
        ({"page_size": 100}, {"count": 25, "next_page": None, "previous_page": None}, range(25)),
    ],
)
def test_page_meta_arithmetic(api, read_token, twenty_five, params, meta, positions):
    response = read(api, read_token, "team_members", **params)
    assert response.json()["meta"] == meta
    assert ids_of(response, "team_members") == [twenty_five[p] for p in positions]


@pytest.mark.parametrize(
    ("params", "meta", "positions"),
    [
        ({"limit": 10}, {"count": 25, "next_offset": 10, "previous_offset": None}, range(10)),
        ({"offset": 0}, {"count": 25, "next_offset": 10, "previous_offset": None}, range(10)),
        (
            {"limit": 10, "offset": 10},
            {"count": 25, "next_offset": 20, "previous_offset": 0},
            range(10, 20),
        ),
        (
            {"limit": 10, "offset": 20},
            {"count": 25, "next_offset": None, "previous_offset": 10},
            range(20, 25),
        ),
        (
            {"limit": 10, "offset": 5},
            {"count": 25, "next_offset": 15, "previous_offset": 0},
            range(5, 15),
        ),
        (
            {"limit": 10, "offset": 15},
            {"count": 25, "next_offset": None, "previous_offset": 5},
            range(15, 25),
        ),
        (
            {"limit": 10, "offset": 30},
            {"count": 25, "next_offset": None, "previous_offset": 20},
            range(0),
        ),
        ({"limit": 25}, {"count": 25, "next_offset": None, "previous_offset": None}, range(25)),
    ],
)
def test_offset_meta_arithmetic(api, read_token, twenty_five, params, meta, positions):
    response = read(api, read_token, "team_members", **params)
    assert response.json()["meta"] == meta
    assert ids_of(response, "team_members") == [twenty_five[p] for p in positions]


def test_empty_collection_meta(api, read_token, team_members):
    response = read(api, read_token, "team_members")
    assert response.json() == {
        "meta": {"count": 0, "next_page": None, "previous_page": None},
        "data": {"team_members": []},
    }


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"page": 0}, "page query parameter should be a positive integer"),
        ({"page": "two"}, "page query parameter should be a positive integer"),
        (
            {"page_size": 0},
            "page_size query parameter should be an integer between 1 and 100 (inclusive)",
        ),
        (
            {"page_size": 101},
            "page_size query parameter should be an integer between 1 and 100 (inclusive)",
        ),
        (
            {"limit": 101},
            "limit query parameter should be an integer between 1 and 100 (inclusive)",
        ),
        ({"offset": -1}, "offset query parameter should be an integer greater than or equal to 0"),
        ({"page": 2, "limit": 5}, "Use either page and page_size or limit and offset, not both"),
        # Past what a database offset (and an exact JSON next_offset) can hold: was a 500.
        ({"page": "99999999999999999999999"}, "page query parameter is too large"),
        ({"offset": str(2**63)}, "offset query parameter is too large"),
    ],
)
def test_bad_paging_is_400(api, read_token, team_members, params, detail):
    response = read(api, read_token, "team_members", **params)
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


# --- Filters ------------------------------------------------------------------------------


@pytest.fixture
def people(org):
    return make_collection(
        org,
        "people",
        [
            {"key": "name", "type": "short_text"},
            {"key": "team", "type": "dropdown", "choices": ["eng", "ops"]},
            {"key": "age", "type": "number"},
            {"key": "active", "type": "checkbox"},
            {"key": "born", "type": "date"},
            {"key": "tint", "type": "color"},
        ],
    )


@pytest.fixture
def crew(people):
    rows = [
        {"name": "Ada", "team": "eng", "age": 36, "active": True, "born": "1815-12-10T00:00:00"},
        {"name": "Bob", "team": "ops", "age": 41.5, "active": False, "tint": "#aabbcc"},
        {"name": "Cy", "team": "eng", "age": 36, "active": False},
        {"name": "Di", "active": True},
    ]
    return {row["name"]: put_item(people, row).id for row in rows}


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"fields.name": "Ada"}, ["Ada"]),
        ({"fields.name": "ada"}, []),
        ({"fields.team": "eng"}, ["Ada", "Cy"]),
        ({"fields.team": "eng", "fields.active": "false"}, ["Cy"]),
        ({"fields.active": "true"}, ["Ada", "Di"]),
        ({"fields.active": "True"}, ["Ada", "Di"]),
        ({"fields.age": "36"}, ["Ada", "Cy"]),
        ({"fields.age": "41.5"}, ["Bob"]),
        ({"fields.born": "1815-12-10"}, ["Ada"]),
        ({"fields.born": "1815-12-10T00:00:00"}, ["Ada"]),
        ({"fields.tint": "#AABBCC"}, ["Bob"]),
        ({"fields.name": "Nobody"}, []),
    ],
)
def test_filters(api, read_token, crew, params, names):
    response = read(api, read_token, "people", **params)
    assert ids_of(response, "people") == [crew[n] for n in names]
    assert response.json()["meta"]["count"] == len(names)


def test_filter_is_anded_with_paging(api, read_token, team_members):
    ids = [put_item(team_members, {"name": "same", "position": str(n)}).id for n in range(5)]
    put_item(team_members, {"name": "other"})
    response = read(
        api, read_token, "team_members", **{"fields.name": "same", "page_size": 2, "page": 2}
    )
    assert response.json()["meta"] == {"count": 5, "next_page": 3, "previous_page": 1}
    assert ids_of(response, "team_members") == ids[2:4]


def test_filter_sees_the_draft_side_only_in_preview(api, read_token, team_members):
    item = put_item(team_members, {"name": "Old"}, draft={"name": "New"})
    assert ids_of(
        read(api, read_token, "team_members", **{"fields.name": "Old"}), "team_members"
    ) == [item.id]
    assert (
        ids_of(read(api, read_token, "team_members", **{"fields.name": "New"}), "team_members")
        == []
    )
    preview = read(api, read_token, "team_members", preview=1, **{"fields.name": "New"})
    assert ids_of(preview, "team_members") == [item.id]


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        (
            {"fields.nope": "x"},
            403,
            "Invalid collection filter fields.nope: collection people has no field nope",
        ),
        ({"fields.age": "old"}, 400, "Invalid filter value for fields.age: expected a number"),
        (
            {"fields.active": "maybe"},
            400,
            "Invalid filter value for fields.active: expected true or false",
        ),
        (
            {"fields.born": "yesterday"},
            400,
            "Invalid filter value for fields.born: expected a date, YYYY-MM-DD[THH:MM:SS]",
        ),
        ({"order": "nope"}, 403, "Invalid collection order: collection people has no field nope"),
        ({"order": "-nope"}, 403, "Invalid collection order: collection people has no field nope"),
        # One leading "-" says descending; "--age" names the field "-age", "-" names none.
        ({"order": "--age"}, 403, "Invalid collection order: collection people has no field -age"),
        ({"order": "-"}, 403, "Invalid collection order: collection people has no field (none)"),
    ],
)
def test_bad_filter_or_order(api, read_token, people, params, status, detail):
    response = read(api, read_token, "people", **params)
    assert response.status_code == status
    assert response.json() == {"detail": detail}


# --- Order --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "names"),
    [
        ("name", ["Ada", "Bob", "Cy", "Di"]),
        ("-name", ["Di", "Cy", "Bob", "Ada"]),
        # Equal values keep id order (reversed when descending); no value comes last.
        ("age", ["Ada", "Cy", "Bob", "Di"]),
        ("-age", ["Bob", "Cy", "Ada", "Di"]),
        ("team", ["Ada", "Cy", "Bob", "Di"]),
        ("-team", ["Bob", "Cy", "Ada", "Di"]),
        ("active", ["Bob", "Cy", "Ada", "Di"]),
        ("born", ["Ada", "Bob", "Cy", "Di"]),
        ("-tint", ["Bob", "Ada", "Cy", "Di"]),
    ],
)
def test_order(api, read_token, crew, order, names):
    response = read(api, read_token, "people", order=order)
    assert ids_of(response, "people") == [crew[n] for n in names]


def test_order_number_is_numeric_not_textual(api, read_token, people):
    ids = {age: put_item(people, {"age": age}).id for age in [100, 9, 20.5]}
    response = read(api, read_token, "people", order="age")
    assert ids_of(response, "people") == [ids[9], ids[20.5], ids[100]]


@pytest.mark.parametrize("page_size", [1, 2, 3, 5])
def test_order_pages_cross_from_valued_to_empty_items(api, read_token, people, page_size):
    valued = [put_item(people, {"name": f"n{n}", "age": 10 - n}).id for n in range(3)]
    empty = [put_item(people, {"name": f"e{n}"}).id for n in range(3)]
    expected = list(reversed(valued)) + empty
    seen, page = [], 1
    while True:
        response = read(api, read_token, "people", order="age", page_size=page_size, page=page)
        meta = response.json()["meta"]
        seen += ids_of(response, "people")
        assert meta["count"] == 6
        if meta["next_page"] is None:
            break
        page = meta["next_page"]
    assert seen == expected
    # A page that starts past the valued items.
    response = read(api, read_token, "people", order="-age", limit=2, offset=4)
    assert ids_of(response, "people") == empty[1:]


def test_order_with_filter(api, read_token, crew):
    response = read(api, read_token, "people", order="-name", **{"fields.team": "eng"})
    assert ids_of(response, "people") == [crew["Cy"], crew["Ada"]]


def test_order_by_reference_is_refused(api, read_token, org, team_members):
    make_collection(
        org,
        "teams",
        [{"key": "lead", "type": "reference", "reference_to": "team_members"}],
    )
    response = read(api, read_token, "teams", order="lead")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Invalid collection order: lead is a reference field and cannot be ordered by"
    }


# --- Locales ------------------------------------------------------------------------------


@pytest.fixture
def localized(org_locales):
    collection = make_collection(
        org_locales,
        "articles",
        [
            {"key": "title", "type": "short_text"},
            {"key": "rank", "type": "number", "translatable": False},
        ],
    )
    token = create_token(org_locales, "read", "reader")[1]
    both = put_item(collection, {"title": "Hello", "rank": 1}, locale="en")
    put_item(collection, {"title": "Hola", "rank": 1}, locale="es", item=both)
    english_only = put_item(collection, {"title": "Only English", "rank": 2}, locale="en")
    spanish_only = put_item(collection, {"title": "Solo español", "rank": 3}, locale="es")
    return token, both, english_only, spanish_only


def test_locale_default_is_the_organizations_default(api, localized):
    token, both, english_only, _ = localized
    response = read(api, token, "articles")
    assert [(i["meta"]["id"], i["title"]) for i in items_of(response, "articles")] == [
        (both.id, "Hello"),
        (english_only.id, "Only English"),
    ]


def test_locale_selects_values_and_has_no_fallback(api, localized):
    token, both, _, spanish_only = localized
    response = read(api, token, "articles", locale="es")
    assert [(i["meta"]["id"], i["title"]) for i in items_of(response, "articles")] == [
        (both.id, "Hola"),
        (spanish_only.id, "Solo español"),
    ]
    assert response.json()["meta"]["count"] == 2


def test_locale_filters_and_orders_within_the_locale(api, localized):
    token, both, _, _ = localized
    response = read(api, token, "articles", locale="es", **{"fields.title": "Hello"})
    assert ids_of(response, "articles") == []
    response = read(api, token, "articles", locale="es", **{"fields.title": "Hola"})
    assert ids_of(response, "articles") == [both.id]


@pytest.mark.parametrize("locale", ["fr", "EN", "en-us"])
def test_unknown_locale_is_400(api, localized, locale):
    response = read(api, localized[0], "articles", locale=locale)
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid locale parameter"}


def test_locale_on_an_organization_without_locales_is_ignored(api, read_token, team_members):
    # Issue 7: the PHP, Ruby and Go SDK READMEs send locale=en in their first example.
    item = put_item(team_members, {"name": "Ada"})
    response = read(api, read_token, "team_members", locale="en")
    assert ids_of(response, "team_members") == [item.id]


# --- Drafts, preview, deletes -------------------------------------------------------------


def test_drafts_only_with_preview(api, read_token, team_members):
    published = put_item(team_members, {"name": "Live"})
    draft_only = put_item(team_members, None, draft={"name": "Draft"})
    changed = put_item(team_members, {"name": "Before"}, draft={"name": "After"})
    response = read(api, read_token, "team_members")
    assert [(i["meta"]["id"], i["name"]) for i in items_of(response, "team_members")] == [
        (published.id, "Live"),
        (changed.id, "Before"),
    ]
    assert response.json()["meta"]["count"] == 2
    for flag in ("1", "true"):
        response = read(api, read_token, "team_members", preview=flag)
        assert [(i["meta"]["id"], i["name"]) for i in items_of(response, "team_members")] == [
            (published.id, "Live"),
            (draft_only.id, "Draft"),
            (changed.id, "After"),
        ]
    assert read(api, read_token, "team_members", preview=0).json()["meta"]["count"] == 2


def test_test_is_an_alias_of_preview_on_r2_too(api, read_token, team_members):
    # Issue 7: the Ruby SDK sends test=1 to /v2/content/{key}/ in test mode.
    draft = put_item(team_members, None, draft={"name": "Draft"})
    assert ids_of(read(api, read_token, "team_members", test=1), "team_members") == [draft.id]


def test_deleted_items_are_gone_even_in_preview(api, read_token, team_members):
    kept = put_item(team_members, {"name": "Kept"})
    gone = put_item(team_members, {"name": "Gone"})
    delete_item(gone)
    assert ids_of(read(api, read_token, "team_members"), "team_members") == [kept.id]
    assert ids_of(read(api, read_token, "team_members", preview=1), "team_members") == [kept.id]
    assert read(api, read_token, "team_members").json()["meta"]["count"] == 1


# --- Errors, auth and isolation -----------------------------------------------------------


def test_unknown_collection_is_404(api, read_token, team_members):
    response = read(api, read_token, "nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("levels", ["0", "6", "two", "-1", "2.5"])
def test_bad_levels_is_400(api, read_token, team_members, levels):
    response = read(api, read_token, "team_members", levels=levels)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "levels query parameter should be an integer between 1 and 5 (inclusive)"
    }


def test_write_token_and_header_token_read(api, write_token, read_token, team_members):
    item = put_item(team_members, {"name": "Ada"})
    assert ids_of(read(api, write_token, "team_members"), "team_members") == [item.id]
    response = api.get(URL.format("team_members"), HTTP_AUTHORIZATION=f"Token {read_token}")
    assert ids_of(response, "team_members") == [item.id]


def test_missing_and_invalid_tokens(api, team_members):
    response = api.get(URL.format("team_members"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    response = api.get(URL.format("team_members"), {"auth_token": "x" * 52})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_never_sees_another_organizations_collection(api, read_token, team_members):
    put_item(team_members, {"name": "Acme's"})
    other = create_organization("initech", "Initech")
    make_collection(other, "secrets", [{"key": "name", "type": "short_text"}])
    other_token = create_token(other, "read")[1]
    response = read(api, other_token, "team_members")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert read(api, read_token, "secrets").status_code == 404
    # Same key in both organizations: each token gets its own.
    theirs = make_collection(other, "team_members", [{"key": "name", "type": "short_text"}])
    their_item = put_item(theirs, {"name": "Initech's"})
    assert ids_of(read(api, other_token, "team_members"), "team_members") == [their_item.id]


def test_page_cost_in_queries_does_not_grow_with_the_collection(
    api, read_token, team_members, django_assert_max_num_queries
):
    for n in range(3):
        put_item(team_members, {"name": f"a{n}"})
    read(api, read_token, "team_members")  # warm the token and schema caches
    with django_assert_max_num_queries(3) as small:
        response = read(api, read_token, "team_members", page_size=2, order="name")
    assert [item["name"] for item in items_of(response, "team_members")] == ["a0", "a1"]
    for n in range(40):
        put_item(team_members, {"name": f"b{n}"})
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = read(api, read_token, "team_members", page_size=2, order="name")
    assert [item["name"] for item in items_of(response, "team_members")] == ["a0", "a1"]
    assert response.json()["meta"]["count"] == 43


def test_a_warm_read_asks_nothing_about_the_schema(api, read_token, team_members):
    """Collections, fields and locales come from the schema cache: with it warm, a read's
    queries are about items only (the token cache is warm too)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    put_item(team_members, {"name": "Ann"})
    read(api, read_token, "team_members")  # warms the caches
    with CaptureQueriesContext(connection) as queries:
        response = read(api, read_token, "team_members", **{"fields.name": "Ann"})
    assert len(items_of(response, "team_members")) == 1
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    for schema_table in ("content_collection", "content_field", "accounts_locale"):
        assert schema_table not in tables
    assert queries.captured_queries  # the items themselves were read
