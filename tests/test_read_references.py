"""References: expansion down to ``levels``, URIs beyond, cycles, deleted and invisible
targets, locales, and batched fetching."""

import pytest

from ghee.accounts.services import create_token
from tests.conftest import make_collection
from tests.read_factories import delete_item, put_item


def read(api, token, key, **params):
    response = api.get(f"/v2/content/{key}/", {"auth_token": token, **params})
    assert response.status_code == 200, response.content
    return response.json()["data"][key]


def uri(key, item_id):
    return f"/v2/content/?keys={key}[_id={item_id}]"


@pytest.fixture
def chain(org):
    """c1 -> c2 -> ... -> c6, each item's ``next`` referencing one item of the next."""
    collections = [
        make_collection(
            org,
            f"c{n}",
            [{"key": "name", "type": "short_text"}]
            + (
                [{"key": "next", "type": "reference", "reference_to": f"c{n + 1}"}] if n < 6 else []
            ),
        )
        for n in range(6, 0, -1)
    ][::-1]
    items, following = [], None
    for n in range(6, 0, -1):
        values = {"name": f"item {n}"}
        if n < 6:
            values["next"] = following.id
        following = put_item(collections[n - 1], values)
        items.insert(0, following)
    return items


def depth_of(node):
    """How many objects deep the chain goes, and what ends it."""
    depth = 0
    while isinstance(node, dict):
        depth += 1
        node = node.get("next")
    return depth, node


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 5])
def test_levels_expand_objects_then_uris(api, read_token, chain, levels):
    [top] = read(api, read_token, "c1", levels=levels)
    depth, end = depth_of(top)
    assert depth == levels
    assert end == uri(f"c{levels + 1}", chain[levels].id)


def test_default_levels_is_two(api, read_token, chain):
    [top] = read(api, read_token, "c1")
    assert top == {
        "meta": {"id": chain[0].id},
        "name": "item 1",
        "next": {"meta": {"id": chain[1].id}, "name": "item 2", "next": uri("c3", chain[2].id)},
    }


def test_chain_end_has_no_reference_left(api, read_token, chain):
    [top] = read(api, read_token, "c2", levels=5)
    assert depth_of(top) == (5, None)


@pytest.fixture
def graph(org):
    nodes = make_collection(
        org,
        "nodes",
        [
            {"key": "name", "type": "short_text"},
            {"key": "partner", "type": "reference", "reference_to": "nodes"},
            {"key": "links", "type": "reference", "reference_to": "nodes", "many": True},
        ],
    )
    a = put_item(nodes, {"name": "a"})
    b = put_item(nodes, {"name": "b", "partner": a.id, "links": [a.id]})
    put_item(nodes, {"name": "a", "partner": b.id, "links": [a.id, b.id]}, item=a)
    return a, b


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 5])
def test_cycles_terminate_at_the_level_limit(api, read_token, graph, levels):
    a, b = graph
    first, _ = read(api, read_token, "nodes", levels=levels)
    assert first["meta"]["id"] == a.id
    node, expected = first, [b.id, a.id] * 3
    for step in range(levels - 1):
        node = node["partner"]
        assert node["meta"]["id"] == expected[step]
    assert node["partner"] == uri("nodes", expected[levels - 1])
    # The self-reference in ``links`` ends the same way.
    node = first
    for _ in range(levels - 1):
        node = node["links"][0]
        assert node["meta"]["id"] == a.id
    assert node["links"] == [uri("nodes", a.id), uri("nodes", b.id)]


@pytest.fixture
def shelf(org):
    books = make_collection(org, "books", [{"key": "title", "type": "short_text"}])
    shelves = make_collection(
        org,
        "shelves",
        [
            {"key": "best", "type": "reference", "reference_to": "books"},
            {"key": "books", "type": "reference", "reference_to": "books", "many": True},
        ],
    )
    live = put_item(books, {"title": "Live"})
    gone = put_item(books, {"title": "Gone"})
    draft = put_item(books, None, draft={"title": "Draft"})
    changed = put_item(books, {"title": "Before"}, draft={"title": "After"})
    return shelves, live, gone, draft, changed


def test_deleted_and_draft_references_are_dropped(api, read_token, shelf):
    shelves, live, gone, draft, changed = shelf
    put_item(shelves, {"best": gone.id, "books": [live.id, gone.id, draft.id, changed.id]})
    other = put_item(shelves, {"best": draft.id, "books": []})
    delete_item(gone)
    first, second = read(api, read_token, "shelves")
    assert first["best"] is None
    assert [(b["meta"]["id"], b["title"]) for b in first["books"]] == [
        (live.id, "Live"),
        (changed.id, "Before"),
    ]
    assert second == {"meta": {"id": other.id}, "best": None, "books": []}
    first, second = read(api, read_token, "shelves", levels=1)
    assert first["best"] is None
    assert first["books"] == [uri("books", live.id), uri("books", changed.id)]
    assert second["best"] is None


def test_preview_shows_draft_references_with_draft_values(api, read_token, shelf):
    shelves, live, gone, draft, changed = shelf
    put_item(shelves, {"best": draft.id, "books": [live.id, gone.id, draft.id, changed.id]})
    delete_item(gone)
    [first] = read(api, read_token, "shelves", preview=1)
    assert first["best"] == {"meta": {"id": draft.id}, "title": "Draft"}
    assert [(b["meta"]["id"], b["title"]) for b in first["books"]] == [
        (live.id, "Live"),
        (draft.id, "Draft"),
        (changed.id, "After"),
    ]
    [first] = read(api, read_token, "shelves", preview=1, levels=1)
    assert first["best"] == uri("books", draft.id)


def test_references_follow_the_requested_locale(api, org_locales):
    token = create_token(org_locales, "read")[1]
    authors = make_collection(org_locales, "authors", [{"key": "name", "type": "short_text"}])
    posts = make_collection(
        org_locales,
        "posts",
        [
            {"key": "title", "type": "short_text"},
            {
                "key": "author",
                "type": "reference",
                "reference_to": "authors",
                "translatable": False,
            },
        ],
    )
    both = put_item(authors, {"name": "Ann"}, locale="en")
    put_item(authors, {"name": "Ana"}, locale="es", item=both)
    english_only = put_item(authors, {"name": "Only"}, locale="en")
    post = put_item(posts, {"title": "Hi", "author": both.id}, locale="en")
    put_item(posts, {"title": "Hola", "author": both.id}, locale="es", item=post)
    other = put_item(posts, {"title": "Two", "author": english_only.id}, locale="en")
    put_item(posts, {"title": "Dos", "author": english_only.id}, locale="es", item=other)
    english = read(api, token, "posts")
    assert [p["author"]["name"] for p in english] == ["Ann", "Only"]
    spanish = read(api, token, "posts", locale="es")
    assert spanish[0]["author"] == {"meta": {"id": both.id}, "name": "Ana"}
    # No version of the author in Spanish: dropped, as a deleted one would be.
    assert spanish[1]["author"] is None


def test_reference_to_a_missing_collection_renders_empty(api, read_token, org):
    orphans = make_collection(
        org,
        "orphans",
        [
            {"key": "one", "type": "reference", "reference_to": "vanished"},
            {"key": "many", "type": "reference", "reference_to": "vanished", "many": True},
        ],
    )
    item = put_item(orphans, {"one": 123, "many": [1, 2]})
    assert read(api, read_token, "orphans") == [{"meta": {"id": item.id}, "one": None, "many": []}]


def test_references_are_fetched_in_batches(
    api, read_token, org, shelf, django_assert_max_num_queries
):
    shelves, live, _, _, changed = shelf
    put_item(shelves, {"best": live.id, "books": [changed.id]})
    read(api, read_token, "shelves")  # warm the caches
    with django_assert_max_num_queries(10) as few:
        read(api, read_token, "shelves", page_size=100)
    titles = [put_item(live.collection, {"title": f"t{n}"}).id for n in range(30)]
    for n in range(30):
        put_item(shelves, {"best": titles[n], "books": titles[: n + 1]})
    with django_assert_max_num_queries(len(few.captured_queries)):
        rendered = read(api, read_token, "shelves", page_size=100)
    assert len(rendered) == 31
    assert [b["meta"]["id"] for b in rendered[-1]["books"]] == titles
