"""The schema inference's rules, value by value (pure functions: no database)."""

import pytest
import yaml

from ghee.content.schema.document import validate_document
from ghee.imports.buttercms.inference import Inference, infer_schema

URI = "/v2/content/?keys={}[_id={}]"


def inferred(*values, media_hosts=()):
    inference = Inference(frozenset(media_hosts))
    for value in values:
        inference.observe("things", {"meta": {"id": 1}, "field": value})
    schema = infer_schema(inference, ["things"], {"things", "people"}, "test")
    return schema, schema.data["collections"][0]["fields"][0]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((True, False), {"type": "checkbox"}),
        ((1, -15.5), {"type": "number", "required": True}),
        (("2024-03-15T14:30:00", "2024-03-15"), {"type": "date", "required": True}),
        (("#aabbcc", "#ABC"), {"type": "color", "required": True}),
        (
            ("https://cdn.buttercms.com/AbCdEf", "https://x.test/a.PNG"),
            {"type": "media", "required": True},
        ),
        (("<p>Hi <strong>there</strong></p>", "plain"), {"type": "wysiwyg", "required": True}),
        (("two\nlines", "short"), {"type": "long_text", "required": True}),
        (("x" * 256,), {"type": "long_text", "required": True}),
        (("Ada", "https://example.com/page"), {"type": "short_text", "required": True}),
        ((URI.format("people", 1), None), {"type": "reference", "to": "people"}),
        (([URI.format("people", 1)], []), {"type": "reference", "to": "people", "many": True}),
        ((None, "", []), {"type": "short_text"}),
        ((1, "one", "two"), {"type": "short_text", "required": True}),
    ],
)
def test_each_field_type_is_read_from_its_values(values, expected):
    _, field = inferred(*values)
    assert {k: v for k, v in field.items() if k != "key"} == expected


def test_a_host_named_as_media_makes_its_urls_media():
    assert inferred("https://files.test/abc")[1]["type"] == "short_text"
    assert inferred("https://files.test/abc", media_hosts=["files.test"])[1]["type"] == "media"


def test_doubts_are_warnings_and_the_document_says_why_and_is_valid():
    schema, _ = inferred(1, "one", "two")
    assert schema.warnings == [
        "things.field: mixed values (2 text, 1 number); chose short_text, "
        "the others will be reported"
    ]
    assert "# mixed values (2 text, 1 number): the most common kind" in schema.text
    assert yaml.safe_load(schema.text) == schema.data
    validate_document(schema.data)
    schema, _ = inferred(None)
    assert "never seen with a value" in schema.warnings[0]


def test_a_reference_to_a_collection_not_imported_is_left_out_with_a_warning():
    inference = Inference()
    inference.observe("things", {"meta": {"id": 1}, "name": "A", "owner": URI.format("users", 3)})
    schema = infer_schema(inference, ["things"], {"things"}, "test")
    assert [f["key"] for f in schema.data["collections"][0]["fields"]] == ["name"]
    assert "references users, which is not imported" in schema.warnings[0]
    assert schema.data["collections"][0]["label"] == "name"
