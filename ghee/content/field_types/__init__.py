"""Field types: one entry per type, holding every rule that differs between types.

Each ``FieldType`` says which schema options it takes and checks them together, cleans a
written value into its canonical stored form, encodes a stored value for the filter index
(``ItemFieldIndex``), reads a ``fields.<key>=`` filter value, says whether the field can be
ordered by, and what a read shows when the field has no value. Adding a type means adding
an entry to ``FIELD_TYPES`` (and a migration for the ``Field.type`` choices).

A filter value goes through the same parser as a written value and then the same index
encoding, so whatever a write accepts, the same text as a filter finds (the constraints
of the field -- lengths, bounds, choices, patterns -- apply to writes only).

Canonical forms (shared with the Read API): text as str; number as int (when written as an
integer) or finite float; date as naive ``YYYY-MM-DDTHH:MM:SS`` (aware values in UTC);
checkbox as bool; dropdown as the option's value; color as ``#rrggbb``; media as an
http(s) URL; reference as an item id, or a list of ids for a many-reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ghee.content.field_types.options import OPTIONS, FieldSpec, choice_values
from ghee.content.field_types.values import (
    MAX_REFERENCES,
    MAX_TEXT_CHARS,
    FieldError,
    json_type_name,
    normalise_color,
    normalise_date,
    pattern_checker,
    reference_id,
    show_value,
    stored_reference_ids,
    to_bool,
    to_number,
    valid_url,
)

INDEX_TEXT_CHARS = 255  # ItemFieldIndex.text_value's length
IndexRow = tuple[str | None, float | None]  # (text_value, number_value)

__all__ = [
    "CHOICES",
    "FIELD_TYPES",
    "OPTIONS",
    "TEXT_TYPES",
    "FieldError",
    "FieldSpec",
    "FieldType",
    "check_default",
    "field_type",
]


class FieldType:
    """The rules of one type. Subclasses override what differs from plain text."""

    name = ""
    label = ""
    options: tuple[str, ...] = ()  # schema options beyond the ones every field takes
    orderable = True
    order_column = "text_value"  # the ItemFieldIndex column ``order=`` sorts by
    empty_render: Any = None  # what a read shows for no value
    filter_expects = ""  # how a bad filter value is explained: "expected <this>"
    takes_default = True
    is_reference = False
    blank_is_value = False  # "" is a value (text), not "no value" (everything else)
    renders_value = False  # True: a read shows ``render(value, ...)``, not the stored value

    def __init__(self, name: str = "", label: str = "") -> None:
        self.name = name or self.name
        self.label = label or self.label

    def __repr__(self) -> str:
        return f"<field type {self.name}>"

    # Schema options -----------------------------------------------------------------------

    def option_problems(self, spec: FieldSpec) -> list[str]:
        """Problems between options (each option alone is checked by ``options.OPTIONS``)."""
        return []

    # Writing ------------------------------------------------------------------------------

    def parse(self, value: Any) -> Any:
        """The canonical form of ``value`` by this type alone (no field options)."""
        if not isinstance(value, str):
            raise FieldError("Not a valid string.")
        return value

    def cleaner(self, spec: FieldSpec) -> Callable[[Any], Any]:
        """``parse`` plus the field's own constraints."""
        return self.parse

    # Indexing and filtering ---------------------------------------------------------------

    def index(self, value: Any) -> list[IndexRow]:
        """The index rows of a stored, non-empty value."""
        return [(str(value)[:INDEX_TEXT_CHARS], None)]

    def filter_value(self, text: str) -> tuple[str, Any]:
        """``fields.<key>=<text>`` as ``(ItemFieldIndex column, value)``; FieldError if bad.

        The text is parsed as a written value is, then encoded as the index encodes it.
        """
        text_value, number_value = self.index(self.parse(text))[0]
        if text_value is None:
            return "number_value", number_value
        return "text_value", text_value

    # Reading ------------------------------------------------------------------------------

    def render(self, value: Any, *, alt_media_text: bool) -> Any:
        """What a read shows (called only when ``renders_value``; else ``empty_render``
        stands in for no value and a value is shown as stored)."""
        return self.empty_render if value is None else value


class TextType(FieldType):
    options = ("min_length", "max_length", "pattern")
    empty_render = ""
    blank_is_value = True

    def option_problems(self, spec: FieldSpec) -> list[str]:
        low, high = spec.min_length, spec.max_length
        if low is not None and high is not None and low > high:
            return [f"min_length {low} is greater than max_length {high}"]
        return []

    def parse(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise FieldError("Not a valid string.")
        if len(value) > MAX_TEXT_CHARS:
            raise FieldError(f"Ensure this field has no more than {MAX_TEXT_CHARS} characters.")
        return value

    def cleaner(self, spec: FieldSpec) -> Callable[[Any], Any]:
        min_length, max_length = spec.min_length, spec.max_length
        pattern = pattern_checker(spec.pattern)
        parse = self.parse

        def clean(value: Any) -> Any:
            value = parse(value)
            if value == "":
                return value
            if max_length is not None and len(value) > max_length:
                raise FieldError(f"Ensure this field has no more than {max_length} characters.")
            if min_length is not None and len(value) < min_length:
                raise FieldError(f"Ensure this field has at least {min_length} characters.")
            if pattern is not None:
                pattern(value)
            return value

        return clean


class NumberType(FieldType):
    name, label = "number", "Number"
    options = ("min", "max")
    order_column = "number_value"
    filter_expects = "a number"

    def option_problems(self, spec: FieldSpec) -> list[str]:
        low, high = spec.min_value, spec.max_value
        if low is not None and high is not None and low > high:
            return [f"min {low:g} is greater than max {high:g}"]
        return []

    def parse(self, value: Any) -> Any:
        return to_number(value)

    def cleaner(self, spec: FieldSpec) -> Callable[[Any], Any]:
        low, high = spec.min_value, spec.max_value

        def clean(value: Any) -> Any:
            number = to_number(value)
            if low is not None and number < low:
                raise FieldError(f"Ensure this value is greater than or equal to {low:g}.")
            if high is not None and number > high:
                raise FieldError(f"Ensure this value is less than or equal to {high:g}.")
            return number

        return clean

    def index(self, value: Any) -> list[IndexRow]:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return []  # not a number: nothing a filter or order could use
        return [(None, float(value))]


class DateType(FieldType):
    name, label = "date", "Date"
    filter_expects = "a date, YYYY-MM-DD[THH:MM:SS]"

    def parse(self, value: Any) -> Any:
        return normalise_date(value)


class CheckboxType(FieldType):
    name, label = "checkbox", "Checkbox"
    empty_render = False
    filter_expects = "true or false"

    def parse(self, value: Any) -> Any:
        return to_bool(value)

    def index(self, value: Any) -> list[IndexRow]:
        return [("true" if value else "false", None)]


class DropdownType(FieldType):
    name, label = "dropdown", "Dropdown"
    options = ("choices",)
    empty_render = ""

    def option_problems(self, spec: FieldSpec) -> list[str]:
        if not spec.choices:
            return ["a dropdown needs 'choices': a list of values or {label, value}"]
        return []

    def parse(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            raise FieldError(f'"{show_value(value)}" is not a valid choice.')
        return str(value)

    def cleaner(self, spec: FieldSpec) -> Callable[[Any], Any]:
        by_text = {str(value): value for value in choice_values(spec.choices)}

        def clean(value: Any) -> Any:
            if isinstance(value, dict | list) or str(value) not in by_text:
                raise FieldError(f'"{show_value(value)}" is not a valid choice.')
            return by_text[str(value)]

        return clean


class ColorType(FieldType):
    name, label = "color", "Color"
    empty_render = ""
    filter_expects = "a color, #rrggbb"

    def parse(self, value: Any) -> Any:
        return normalise_color(value)


class MediaType(FieldType):
    name, label = "media", "Media"
    empty_render = ""
    renders_value = True  # with alt_media_text=1, an object

    def parse(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise FieldError("Enter a valid http(s) URL.")
        return value

    def cleaner(self, spec: FieldSpec) -> Callable[[Any], Any]:
        return valid_url

    def render(self, value: Any, *, alt_media_text: bool) -> Any:
        if not alt_media_text:
            return "" if value is None else value
        # The alt text lives on the media library's asset: the renderer fills it in for
        # all of a response's media URLs at once (read/rendering.py).
        return {"url": value or "", "alt": ""}


class ReferenceType(FieldType):
    """One item (``many: false``) or a list of items of the collection named by ``to``.

    A written reference may be an id, the object a read returns (its ``meta.id``) or the
    URI a read returns at the depth limit, so a client can send back what it read.
    """

    name, label = "reference", "Reference"
    options = ("to", "many")
    orderable = False
    filter_expects = "an item id"
    takes_default = False
    is_reference = True

    def option_problems(self, spec: FieldSpec) -> list[str]:
        if not spec.reference_to:
            return ["a reference needs 'to': the key of the collection it points to"]
        return []

    def parse(self, value: Any) -> Any:
        return reference_id(value, None)

    def cleaner(self, spec: FieldSpec) -> Callable[[Any], Any]:
        target = spec.reference_to

        def clean_one(value: Any) -> int:
            return reference_id(value, target)

        if not spec.many:
            return clean_one

        def clean_many(value: Any) -> list[int]:
            if not isinstance(value, list):
                kind = json_type_name(value)
                raise FieldError(f'Expected a list of item ids but got type "{kind}".')
            if len(value) > MAX_REFERENCES:
                raise FieldError(f"Ensure this field has no more than {MAX_REFERENCES} elements.")
            ids: list[int] = []
            for element in value:
                item_id = clean_one(element)
                if item_id not in ids:
                    ids.append(item_id)
            return ids

        return clean_many

    def index(self, value: Any) -> list[IndexRow]:
        return [(str(item_id), float(item_id)) for item_id in stored_reference_ids(value)]


FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        TextType("short_text", "Short text"),
        TextType("long_text", "Long text"),
        TextType("wysiwyg", "WYSIWYG"),
        TextType("html", "HTML"),
        NumberType(),
        DateType(),
        CheckboxType(),
        DropdownType(),
        ColorType(),
        MediaType(),
        ReferenceType(),
    )
}
TEXT_TYPES = frozenset(name for name, t in FIELD_TYPES.items() if type(t) is TextType)
CHOICES = [(name, t.label) for name, t in FIELD_TYPES.items()]


def field_type(name: str) -> FieldType:
    """The rules of the type called ``name`` (an unknown name is treated as short text)."""
    return FIELD_TYPES.get(name) or FIELD_TYPES["short_text"]


def check_default(spec: FieldSpec) -> tuple[Any, str | None]:
    """A field's default in its stored form, or a problem: the same cleaning as a write."""
    kind = field_type(spec.type)
    if not kind.takes_default:
        return None, f"{kind.name} fields take no default"
    try:
        return kind.cleaner(spec)(spec.default), None
    except FieldError as exc:
        return None, f"is not valid: {exc}"
