"""Property tests (Hypothesis): value cleaners, and no body makes the Write API answer 5xx."""

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghee.content.field_types.values import FieldError, normalise_color, normalise_date, to_number
from ghee.content.models import Job
from tests.conftest import make_collection

CANONICAL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_naive_datetimes_are_stored_to_the_second(value):
    assert normalise_date(value.isoformat()) == value.replace(microsecond=0).isoformat()


@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_aware_datetimes_are_stored_as_utc_without_zone(value, offset_minutes):
    aware = value.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    expected = aware.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()
    assert normalise_date(aware.isoformat()) == expected


@given(st.text(max_size=40))
def test_any_string_is_a_canonical_date_or_a_field_error(text):
    try:
        cleaned = normalise_date(text)
    except FieldError:
        return
    assert CANONICAL_DATE.fullmatch(cleaned)
    assert normalise_date(cleaned) == cleaned


@given(st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1))
def test_safe_integers_and_their_strings_stay_integers(value):
    assert to_number(value) == value and type(to_number(value)) is int
    assert to_number(str(value)) == value and type(to_number(str(value))) is int


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_floats_round_trip(value):
    assert to_number(value) == value
    assert to_number(repr(value)) == value


@given(st.one_of(st.text(max_size=30), st.floats(), st.booleans(), st.none()))
def test_numbers_are_finite_or_refused(value):
    try:
        number = to_number(value)
    except FieldError:
        return
    assert not isinstance(number, bool)
    assert math.isfinite(number)


@given(st.text(max_size=10))
def test_colors_are_canonical_or_refused(text):
    try:
        color = normalise_color(text)
    except FieldError:
        return
    assert re.fullmatch(r"#[0-9a-f]{6}", color)
    assert normalise_color(color) == color


# --- No body makes the API answer 500 ---------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
FIELD_KEYS = ["title", "count", "when", "active", "size", "tint", "photo", "lead", "crew"]
field_maps = st.dictionaries(st.sampled_from([*FIELD_KEYS, "en", "es", "nope"]), json_values)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"key": st.sampled_from(["kitchen", "missing", ""]) | json_values},
        optional={
            "status": st.sampled_from(["draft", "published"]) | json_values,
            "fields": st.lists(field_maps, max_size=3) | json_values,
        },
    ),
)


@pytest.fixture
def kitchen(org):
    make_collection(org, "team", [{"key": "name", "type": "short_text"}])
    return make_collection(
        org,
        "kitchen",
        [
            {"key": "title", "type": "short_text", "required": True, "max_length": 10},
            {"key": "count", "type": "number", "min_value": 0},
            {"key": "when", "type": "date"},
            {"key": "active", "type": "checkbox"},
            {"key": "size", "type": "dropdown", "choices": ["s", "m"]},
            {"key": "tint", "type": "color"},
            {"key": "photo", "type": "media"},
            {"key": "lead", "type": "reference", "reference_to": "team"},
            {"key": "crew", "type": "reference", "reference_to": "team", "many": True},
        ],
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_no_create_body_causes_a_server_error(api, write_token, kitchen, body):
    before = Job.objects.count()
    response = api.generic(
        "POST",
        "/v2/content/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code in (202, 400), response.content
    assert isinstance(response.json(), dict)
    assert Job.objects.count() == before + (response.status_code == 202)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values, method=st.sampled_from(["PUT", "PATCH"]))
def test_no_change_body_causes_a_server_error(api, write_token, kitchen, body, method):
    from ghee.content.models import Item

    item = Item.objects.create(collection=kitchen, organization=kitchen.organization)
    response = api.generic(
        method,
        f"/v2/content/kitchen/{item.pk}/",
        json.dumps({"fields": body}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code in (202, 400), response.content
