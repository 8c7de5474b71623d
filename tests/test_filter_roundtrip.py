"""For every field type: a value the Write API accepts, sent as a ``fields.<key>=`` filter
the way a client writes it (the same string, number or boolean as text), finds its item.

Through the real paths: POST /v2/content/, the job run by ``run_pending_jobs``, and
GET /v2/content/<key>/. This caught ``0005-01-01`` (the read side wrote years with
``strftime``, without the leading zeros the write side stores) and its relatives: a color
written ``#ABC`` and filtered ``#ABC``, a checkbox written ``"yes"``.
"""

import json
from datetime import datetime, timedelta, timezone
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghee.content.field_types import FIELD_TYPES
from ghee.content.models import Item, Job
from ghee.content.write.jobs import run_pending_jobs
from ghee.media.services import receive_upload, store_media
from tests.conftest import make_collection
from tests.media.samples import png_bytes

CHOICES = ["s", "Large one", "10", "ÿes"]
FIELDS = [
    {"key": "short", "type": "short_text"},
    {"key": "long", "type": "long_text"},
    {"key": "rich", "type": "wysiwyg"},
    {"key": "raw", "type": "html"},
    {"key": "count", "type": "number"},
    {"key": "when", "type": "date"},
    {"key": "active", "type": "checkbox"},
    {"key": "size", "type": "dropdown", "choices": CHOICES},
    {"key": "tint", "type": "color"},
    {"key": "photo", "type": "media"},
    {"key": "lead", "type": "reference", "reference_to": "people"},
    {"key": "crew", "type": "reference", "reference_to": "people", "many": True},
]
PEOPLE = 3


def test_every_field_type_is_covered():
    assert {f["type"] for f in FIELDS} == set(FIELD_TYPES)


# --- What a client may write, and how it writes the same value as a filter ----------------------

# Text a JSON body can carry and a database can store (no NUL, no lone surrogate).
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
text_values = texts.filter(lambda t: len(t) <= 300) | st.sampled_from(["", " ", "x" * 300])

numbers = st.one_of(
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**6), max_value=10**6).map(lambda n: f" {n} "),
    st.sampled_from(["1e2", "+5", "-0.0", ".5", "5.", "0005"]),
)


@st.composite
def dates(draw):
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    form = draw(st.sampled_from(["date", "minutes", "seconds", "micro", "z", "offset"]))
    if form == "date":
        return moment.date().isoformat()
    if form == "minutes":
        return moment.isoformat(timespec="minutes")
    if form == "seconds":
        return moment.isoformat(timespec="seconds")
    if form == "micro":
        return moment.isoformat(timespec="microseconds")
    if form == "z":
        return moment.isoformat(timespec="seconds") + "Z"
    minutes = draw(st.integers(min_value=-14 * 60, max_value=14 * 60))
    return moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


checkboxes = st.sampled_from(
    [True, False, 1, 0, "true", "false", "TRUE", "yes", "no", "on", "off", "1", "0", " yes "]
)
dropdowns = st.sampled_from([*CHOICES, 10])
colors = st.from_regex(r"\s?#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\s?", fullmatch=True)


def reference_forms(item_id: int):
    """An item id as a client may write it, and the filter text it would use for it."""
    return st.sampled_from(
        [
            (item_id, str(item_id)),
            (str(item_id), str(item_id)),
            ({"meta": {"id": item_id}, "name": "x"}, str(item_id)),
            (
                f"/v2/content/?keys=people[_id={item_id}]",
                f"/v2/content/?keys=people[_id={item_id}]",
            ),
        ]
    )


def as_filter_text(value) -> str:
    """A written value as the text of a query parameter."""
    return value if isinstance(value, str) else json.dumps(value)


@pytest.fixture
def people_ids(org):
    people = make_collection(org, "people", [{"key": "name", "type": "short_text"}])
    make_collection(org, "things", FIELDS)
    return [Item.objects.create(collection=people, organization=org).pk for _ in range(PEOPLE)]


@pytest.fixture
def media_url(org):
    """A URL of the organization's own media library. A media value from elsewhere is
    imported and stored as such a URL (tests/test_write_media.py); this one is kept as it
    is, so it is also the filter text that finds the item."""
    with receive_upload(BytesIO(png_bytes()), "photo.png") as fetched:
        return store_media(org.pk, fetched).url


@st.composite
def items(draw, people_ids, media_url):
    """(body of one item, {field key: [filter texts that must find it]})."""
    body, filters = {}, {}
    for key in ("short", "long", "rich", "raw"):
        body[key] = draw(text_values)
    body["count"] = draw(numbers)
    body["when"] = draw(dates())
    body["active"] = draw(checkboxes)
    body["size"] = draw(dropdowns)
    body["tint"] = draw(colors)
    body["photo"] = media_url
    for key, value in body.items():
        filters[key] = [as_filter_text(value)]
    lead, lead_filter = draw(st.sampled_from(people_ids).flatmap(reference_forms))
    body["lead"], filters["lead"] = lead, [lead_filter]
    crew = draw(st.lists(st.sampled_from(people_ids), min_size=1, max_size=3))
    forms = [draw(reference_forms(item_id)) for item_id in crew]
    body["crew"], filters["crew"] = [v for v, _ in forms], [f for _, f in forms]
    return body, filters


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_written_value_used_as_a_filter_finds_its_item(
    api, write_token, people_ids, media_url, data
):
    body, filters = data.draw(items(people_ids, media_url))
    Item.objects.filter(collection__key="things").delete()  # the examples share a database
    response = api.post(
        "/v2/content/",
        {"key": "things", "status": "published", "fields": [body]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code == 202, (response.json(), body)
    run_pending_jobs()
    job = Job.objects.order_by("-id").first()
    assert job.status == "succeeded", job.errors
    [item_id] = job.result["item_ids"]
    for key, texts_ in filters.items():
        for text in texts_:
            response = api.get(
                "/v2/content/things/",
                {"auth_token": write_token, f"fields.{key}": text, "page_size": 100},
            )
            assert response.status_code == 200, (key, text, response.json())
            found = [item["meta"]["id"] for item in response.json()["data"]["things"]]
            assert item_id in found, (key, body[key], text)


@pytest.mark.parametrize(
    ("key", "written", "filter_text"),
    [
        ("when", "0005-01-01", "0005-01-01"),
        ("when", "0999-12-31T23:59:59", "0999-12-31T23:59:59"),
        ("when", "2024-03-15T14:30:00+02:00", "2024-03-15T12:30:00Z"),
        ("tint", "#ABC", "#ABC"),
        ("tint", "#ABC", "aabbcc"),
        ("active", "yes", "yes"),
        ("active", 1, "true"),
        ("count", "5", "5.0"),
        ("size", 10, "10"),
    ],
)
def test_known_disagreements_are_gone(api, write_token, people_ids, key, written, filter_text):
    response = api.post(
        "/v2/content/",
        {"key": "things", "status": "published", "fields": [{key: written}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code == 202, response.json()
    run_pending_jobs()
    response = api.get(
        "/v2/content/things/", {"auth_token": write_token, f"fields.{key}": filter_text}
    )
    assert response.status_code == 200, response.json()
    assert len(response.json()["data"]["things"]) == 1
