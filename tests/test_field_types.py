"""The field-type module: one list of options behind the model, the document and the specs;
one parser per kind of value behind writes, defaults and filters."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghee.content.field_types import CHOICES, FIELD_TYPES, FieldError, check_default, field_type
from ghee.content.field_types.options import (
    MODEL_ATTRIBUTES,
    FieldSpec,
    model_values,
    spec_from_model,
)
from ghee.content.field_types.values import normalise_date, reference_id
from ghee.content.models import Field
from ghee.content.schema.document import field_to_data, validate_document


def test_the_field_model_stores_every_option_and_offers_every_type():
    columns = {f.name for f in Field._meta.concrete_fields}
    assert columns - {"id", "collection", "key", "order"} == set(MODEL_ATTRIBUTES)
    assert Field._meta.get_field("type").choices == CHOICES
    assert [name for name, _ in CHOICES] == list(FIELD_TYPES)


def test_the_schema_editor_shows_every_option():
    from ghee.content.admin import FieldInline

    shown = [
        name for row in FieldInline.fields for name in ([row] if isinstance(row, str) else row)
    ]
    assert set(shown) == {"key", "order", *MODEL_ATTRIBUTES}


def test_a_spec_round_trips_through_the_model_and_the_document():
    data = {
        "collections": [
            {
                "key": "things",
                "fields": [
                    {"key": "size", "type": "dropdown", "choices": [{"label": "S", "value": "s"}]},
                    {"key": "n", "type": "number", "min": 0, "max": 9.5, "default": 3},
                ],
            }
        ]
    }
    for spec in validate_document(data).collections[0].fields:
        assert spec_from_model(Field(key=spec.key, **model_values(spec))) == spec
    fields = validate_document(data).collections[0].fields
    assert [field_to_data(f) for f in fields] == data["collections"][0]["fields"]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("0005-01-01", "0005-01-01T00:00:00"),
        ("0999-12-31T23:59:59.9", "0999-12-31T23:59:59"),
        (" 2024-03-15T14:30Z ", "2024-03-15T14:30:00"),
        ("2024-03-15T00:30:00+01:00", "2024-03-14T23:30:00"),
        (dt.date(5, 1, 1), "0005-01-01T00:00:00"),  # as YAML hands over a default
        (dt.datetime(2024, 3, 15, 1, 2, 3), "2024-03-15T01:02:03"),
    ],
)
def test_one_date_normaliser_writes_four_digit_years(value, stored):
    assert normalise_date(value) == stored


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "2024-02-30", "", 20240315, None])
def test_dates_that_are_not_dates_are_refused(value):
    with pytest.raises(FieldError):
        normalise_date(value)


@given(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)))
def test_a_stored_date_filters_as_itself(moment):
    """The date type's filter reads the stored form back to the same index value."""
    kind = field_type("date")
    stored = kind.parse(moment.isoformat())
    assert kind.filter_value(stored) == ("text_value", kind.index(stored)[0][0])
    assert kind.filter_value(moment.date().isoformat())[1].startswith(f"{moment.year:04d}-")


@pytest.mark.parametrize(
    ("value", "target", "item_id"),
    [
        (7, "people", 7),
        ("7", "people", 7),
        (7.0, "people", 7),
        ({"meta": {"id": 7}, "name": "Ann"}, "people", 7),
        ("/v2/content/?keys=people[_id=7]", "people", 7),
        ("/v2/content/?keys=people[_id=7]", None, 7),  # a filter takes any collection's URI
    ],
)
def test_a_reference_is_an_id_an_item_object_or_its_uri(value, target, item_id):
    assert reference_id(value, target) == item_id


@pytest.mark.parametrize(
    "value",
    [True, 0, -1, 2**53, "x", [7], {"meta": 7}, {"id": 7}, "/v2/content/?keys=teams[_id=7]"],
)
def test_anything_else_is_not_a_reference(value):
    with pytest.raises(FieldError):
        reference_id(value, "people")


@pytest.mark.parametrize(
    ("spec", "stored", "problem"),
    [
        (FieldSpec(key="a", type="number", default="3"), 3, None),
        (FieldSpec(key="a", type="color", default="#ABC"), "#aabbcc", None),
        (FieldSpec(key="a", type="checkbox", default="yes"), True, None),
        (FieldSpec(key="a", type="number", max_value=2.0, default=3), None, "is not valid"),
        (FieldSpec(key="a", type="reference", reference_to="b", default=1), None, "take no"),
    ],
)
def test_a_default_is_cleaned_as_a_write_is(spec, stored, problem):
    value, found = check_default(spec)
    assert value == stored
    assert (found is None) if problem is None else problem in found


@pytest.mark.parametrize(
    ("type_", "text", "column", "value"),
    [
        ("number", "5", "number_value", 5.0),
        ("number", " 2.5 ", "number_value", 2.5),
        ("checkbox", "YES", "text_value", "true"),
        ("color", "ABC", "text_value", "#aabbcc"),
        ("reference", "12", "text_value", "12"),
        ("short_text", "x" * 300, "text_value", "x" * 255),
        ("dropdown", "10", "text_value", "10"),
    ],
)
def test_filter_values_are_encoded_as_the_index_encodes_written_values(type_, text, column, value):
    assert field_type(type_).filter_value(text) == (column, value)


@pytest.mark.parametrize(
    ("type_", "text"), [("number", "inf"), ("checkbox", "maybe"), ("color", "red"), ("date", "x")]
)
def test_filter_values_no_write_accepts_are_refused(type_, text):
    with pytest.raises(FieldError):
        field_type(type_).filter_value(text)


def test_only_references_cannot_be_ordered_by():
    assert [name for name, kind in FIELD_TYPES.items() if not kind.orderable] == ["reference"]
    assert field_type("number").order_column == "number_value"


@pytest.mark.parametrize(
    ("type_", "empty"),
    [("short_text", ""), ("media", ""), ("color", ""), ("number", None), ("checkbox", False)],
)
def test_an_empty_value_renders_as_its_type_says(type_, empty):
    assert field_type(type_).render(None, alt_media_text=False) == empty
