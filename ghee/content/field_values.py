"""Field values: one cleaner per field type, turning an accepted value into its canonical
stored form or raising ``FieldError`` with a DRF-style message for the client.

Canonical forms (shared with the Read API): text as str; number as int (when written as an
integer) or finite float; date as naive ``YYYY-MM-DDTHH:MM:SS`` (aware values converted to
UTC); checkbox as bool; dropdown as the option's value; color as ``#rrggbb``; media as an
http(s) URL; reference as an int id, or a list of ids for a many-reference.
"""

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from ghee.content.choices import FieldType
from ghee.content.models import Field

MAX_ITEMS_PER_REQUEST = 100
MAX_TEXT_CHARS = 1_000_000
MAX_SAFE_INTEGER = 2**53 - 1
TEXT_TYPES = frozenset(
    {FieldType.SHORT_TEXT, FieldType.LONG_TEXT, FieldType.WYSIWYG, FieldType.HTML}
)

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."
NOT_EMPTY_LIST = "This list may not be empty."


class FieldError(Exception):
    """One value is not acceptable for its field; the message is for the client."""


def show_value(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 50 else text[:47] + "..."


def json_type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


# --- Per-type cleaners ------------------------------------------------------------------------

_NUMERIC_STRING = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER_STRING = re.compile(r"[+-]?\d+")
_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_US_PHONE = re.compile(r"(\+?1[\s.-]?)?(\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}")
_US_ZIP = re.compile(r"\d{5}(-\d{4})?")
_email = EmailValidator()
_url = URLValidator(schemes=["http", "https"])
DATE_FORMAT_MESSAGE = (
    "Date has wrong format. Use one of these formats instead: "
    "YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


def _pattern_check(pattern: str) -> Callable[[str], None] | None:
    def from_validator(validator, message):
        def check(value: str) -> None:
            try:
                validator(value)
            except ValidationError as exc:
                raise FieldError(message) from exc

        return check

    def from_regex(regex: re.Pattern, message: str):
        def check(value: str) -> None:
            if regex.fullmatch(value) is None:
                raise FieldError(message)

        return check

    if not pattern:
        return None
    if pattern == "email":
        return from_validator(_email, "Enter a valid email address.")
    if pattern == "url":
        return from_validator(_url, "Enter a valid URL.")
    if pattern == "us_phone":
        return from_regex(_US_PHONE, "Enter a valid US phone number.")
    if pattern == "us_zip":
        return from_regex(_US_ZIP, "Enter a valid US ZIP code.")
    if pattern.startswith("regex:"):
        try:
            regex = re.compile(pattern[len("regex:") :])
        except re.error:
            regex = None
        if regex is not None:
            return from_regex(regex, "This value does not match the required pattern.")

    def misconfigured(value: str) -> None:
        raise FieldError(f"The field's pattern {pattern!r} is not valid; fix the schema.")

    return misconfigured


def _text_cleaner(spec: Field) -> Callable[[Any], Any]:
    min_length, max_length = spec.min_length, spec.max_length
    pattern = _pattern_check(spec.pattern)

    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            raise FieldError("Not a valid string.")
        if len(value) > MAX_TEXT_CHARS:
            raise FieldError(f"Ensure this field has no more than {MAX_TEXT_CHARS} characters.")
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


def to_number(value: Any) -> int | float:
    """A JSON number or numeric string as int (when integral in form) or finite float."""
    if isinstance(value, bool):
        raise FieldError("A valid number is required.")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 100 or not _NUMERIC_STRING.fullmatch(text):
            raise FieldError("A valid number is required.")
        value = int(text) if _INTEGER_STRING.fullmatch(text) else float(text)
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise FieldError(
                f"Ensure this value is between {-MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}."
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError("A valid number is required.")
        return value
    raise FieldError("A valid number is required.")


def _number_cleaner(spec: Field) -> Callable[[Any], Any]:
    low, high = spec.min_value, spec.max_value

    def clean(value: Any) -> Any:
        number = to_number(value)
        if low is not None and number < low:
            raise FieldError(f"Ensure this value is greater than or equal to {low:g}.")
        if high is not None and number > high:
            raise FieldError(f"Ensure this value is less than or equal to {high:g}.")
        return number

    return clean


def clean_date(value: Any) -> str:
    """ISO 8601 date or datetime -> naive ``YYYY-MM-DDTHH:MM:SS`` (aware -> UTC first)."""
    if not isinstance(value, str) or len(value) > 40:
        raise FieldError(DATE_FORMAT_MESSAGE)
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise FieldError(DATE_FORMAT_MESSAGE) from exc
    return parsed.replace(microsecond=0).isoformat()


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def clean_checkbox(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise FieldError("Must be a valid boolean.")


def _option_values(choices: Any) -> list:
    values = []
    for choice in choices if isinstance(choices, list) else []:
        values.append(choice.get("value") if isinstance(choice, dict) else choice)
    return [value for value in values if value is not None]


def _dropdown_cleaner(spec: Field) -> Callable[[Any], Any]:
    values = _option_values(spec.choices)
    by_text = {str(value): value for value in values}

    def clean(value: Any) -> Any:
        if isinstance(value, dict | list) or str(value) not in by_text:
            raise FieldError(f'"{show_value(value)}" is not a valid choice.')
        return by_text[str(value)]

    return clean


def clean_color(value: Any) -> str:
    if not isinstance(value, str) or not (match := _COLOR.fullmatch(value.strip())):
        raise FieldError("Enter a color as #rrggbb.")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits


def clean_media(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 2048:
        raise FieldError("Enter a valid http(s) URL.")
    try:
        _url(value)
        urlsplit(value)
    except (ValidationError, ValueError) as exc:
        raise FieldError("Enter a valid http(s) URL.") from exc
    return value


def _reference_id(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldError("Expected an item id (an integer).")
    if isinstance(value, str) and _INTEGER_STRING.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 < value <= MAX_SAFE_INTEGER:
        raise FieldError("Expected an item id (an integer).")
    return value


def _reference_cleaner(spec: Field) -> Callable[[Any], Any]:
    if spec.many:

        def clean_many(value: Any) -> list[int]:
            if not isinstance(value, list):
                kind = json_type_name(value)
                raise FieldError(f'Expected a list of item ids but got type "{kind}".')
            if len(value) > 1000:
                raise FieldError("Ensure this field has no more than 1000 elements.")
            ids = []
            for element in value:
                item_id = _reference_id(element)
                if item_id not in ids:
                    ids.append(item_id)
            return ids

        return clean_many
    return _reference_id


_CLEANERS: dict[str, Callable[[Field], Callable[[Any], Any]]] = {
    FieldType.NUMBER: _number_cleaner,
    FieldType.DATE: lambda spec: clean_date,
    FieldType.CHECKBOX: lambda spec: clean_checkbox,
    FieldType.DROPDOWN: _dropdown_cleaner,
    FieldType.COLOR: lambda spec: clean_color,
    FieldType.MEDIA: lambda spec: clean_media,
    FieldType.REFERENCE: _reference_cleaner,
    **{text_type: _text_cleaner for text_type in TEXT_TYPES},
}


def cleaner_for(spec: Field) -> Callable[[Any], Any]:
    """The cleaner of one schema field (an unknown type is treated as text)."""
    return _CLEANERS.get(spec.type, _text_cleaner)(spec)
