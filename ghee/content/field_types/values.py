"""Value parsers shared by the field types: one per kind of value, used alike for a written
value, a schema default and a filter value, so the three cannot disagree.

Each raises ``FieldError`` with a DRF-style message for the client.
"""

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import regex
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

MAX_TEXT_CHARS = 1_000_000
MAX_SAFE_INTEGER = 2**53 - 1
MAX_REFERENCES = 1000

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."
NOT_EMPTY_LIST = "This list may not be empty."
DATE_FORMAT_MESSAGE = (
    "Date has wrong format. Use one of these formats instead: "
    "YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
REFERENCE_MESSAGE = "Expected an item id (an integer)."


class FieldError(Exception):
    """One value is not acceptable for its field; the message is for the client."""


def show_value(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 50 else text[:47] + "..."


def json_type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


# --- Dates -----------------------------------------------------------------------------------


def normalise_date(value: Any) -> str:
    """ISO 8601 date or datetime -> naive ``YYYY-MM-DDTHH:MM:SS`` (aware -> UTC first).

    ``isoformat`` writes four-digit years (``0005-01-01``); ``strftime("%Y")`` would not.
    YAML hands a schema default over as a ``date``/``datetime``, JSON as a string.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise FieldError(DATE_FORMAT_MESSAGE) from exc
    else:
        raise FieldError(DATE_FORMAT_MESSAGE)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError as exc:
            raise FieldError(DATE_FORMAT_MESSAGE) from exc
    return parsed.replace(microsecond=0).isoformat()


# --- Numbers, booleans, colors ---------------------------------------------------------------

_NUMERIC_STRING = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER_STRING = re.compile(r"[+-]?\d+")


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
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise FieldError("A valid number is required.")


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise FieldError("Must be a valid boolean.")


_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def normalise_color(value: Any) -> str:
    """``#rrggbb`` in lowercase; ``#rgb`` and a missing ``#`` are accepted."""
    if not isinstance(value, str) or not (match := _COLOR.fullmatch(value.strip())):
        raise FieldError("Enter a color as #rrggbb.")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits


# --- URLs and text patterns ------------------------------------------------------------------

_url = URLValidator(schemes=["http", "https"])


def valid_url(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 2048:
        raise FieldError("Enter a valid http(s) URL.")
    try:
        _url(value)
    except (ValidationError, ValueError) as exc:
        raise FieldError("Enter a valid http(s) URL.") from exc
    return value


def _validator_test(validator) -> Callable[[str], bool]:
    def test(value: str) -> bool:
        try:
            validator(value)
        except ValidationError:
            return False
        return True

    return test


def _regex_test(regex: re.Pattern) -> Callable[[str], bool]:
    return lambda value: regex.fullmatch(value) is not None


# A text field's named ``pattern`` -> (the test a value must pass, the message if not).
NAMED_PATTERNS: dict[str, tuple[Callable[[str], bool], str]] = {
    "email": (_validator_test(EmailValidator()), "Enter a valid email address."),
    "url": (_validator_test(_url), "Enter a valid URL."),
    "us_phone": (
        _regex_test(re.compile(r"(\+?1[\s.-]?)?(\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}")),
        "Enter a valid US phone number.",
    ),
    "us_zip": (_regex_test(re.compile(r"\d{5}(-\d{4})?")), "Enter a valid US ZIP code."),
}
REGEX_PREFIX = "regex:"


def compile_user_pattern(expression: str) -> regex.Pattern:
    """A schema's ``regex:<expression>``, compiled by the ``regex`` package in its
    ``re``-compatible mode (V0). Not ``re``: a pattern such as ``(a|aa)+$`` backtracks
    exponentially on values a write token sends, and only ``regex`` can stop a match
    (``_bounded_regex_test``)."""
    return regex.compile(expression, flags=regex.V0)


def _bounded_regex_test(pattern: regex.Pattern) -> Callable[[str], bool]:
    """A schema pattern's test, stopped after ``GHEE_SCHEMA_PATTERN_TIMEOUT_MS``: a value
    that takes longer is refused (a 400 naming the field), never a process held."""

    def test(value: str) -> bool:
        timeout = settings.GHEE_SCHEMA_PATTERN_TIMEOUT_MS / 1000
        try:
            return pattern.fullmatch(value, timeout=timeout) is not None
        except TimeoutError as exc:
            raise FieldError(
                "This value took too long to check against the field's pattern "
                f"(over {settings.GHEE_SCHEMA_PATTERN_TIMEOUT_MS} ms, "
                "GHEE_SCHEMA_PATTERN_TIMEOUT_MS); the pattern backtracks on it: "
                "simplify the schema's pattern."
            ) from exc

    return test


def pattern_checker(pattern: str) -> Callable[[str], None] | None:
    """The check of a text field's ``pattern`` option (None when it has none)."""
    if not pattern:
        return None
    test, message = NAMED_PATTERNS.get(pattern, (None, ""))
    if test is None and pattern.startswith(REGEX_PREFIX):
        try:
            test = _bounded_regex_test(compile_user_pattern(pattern[len(REGEX_PREFIX) :]))
        except regex.error:
            test = None
        message = "This value does not match the required pattern."
    if test is None:
        message = f"The field's pattern {pattern!r} is not valid; fix the schema."
        test = lambda value: False  # noqa: E731 - a misconfigured pattern refuses everything

    def check(value: str) -> None:
        if not test(value):
            raise FieldError(message)

    return check


# --- References ------------------------------------------------------------------------------

_REFERENCE_URI = re.compile(r"/v2/content/\?keys=(?P<key>[-\w]+)\[_id=(?P<id>\d{1,18})\]")


def reference_id(value: Any, target_key: str | None) -> int:
    """An item id from what a client may send for a reference.

    An id (a JSON integer, or its string), the object a read returns (``{"meta": {"id":
    2}, ...}``), or the URI a read returns at the depth limit
    (``/v2/content/?keys=<key>[_id=<id>]``, whose key must be ``target_key``).
    """
    if isinstance(value, Mapping):
        meta = value.get("meta")
        value = meta.get("id") if isinstance(meta, Mapping) else None
        if value is None:
            raise FieldError('Expected an item id or an item object with "meta": {"id": ...}.')
    elif isinstance(value, str) and value.startswith("/"):
        match = _REFERENCE_URI.fullmatch(value)
        if match is None:
            raise FieldError("Expected an item id or a /v2/content/?keys=<key>[_id=<id>] URI.")
        if target_key is not None and match["key"] != target_key:
            raise FieldError(f'The URI names collection "{match["key"]}", not "{target_key}".')
        value = int(match["id"])
    if isinstance(value, bool):
        raise FieldError(REFERENCE_MESSAGE)
    if isinstance(value, str) and _INTEGER_STRING.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 < value <= MAX_SAFE_INTEGER:
        raise FieldError(REFERENCE_MESSAGE)
    return value


def stored_reference_ids(value: Any) -> list[int]:
    """The item ids in a stored reference value (an id, a list of ids, or None)."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if type(v) is int]
