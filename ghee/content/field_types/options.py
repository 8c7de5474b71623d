"""Field options, listed once: their names in a schema document, their attribute on
``FieldSpec`` and the ``Field`` model, their default, and the check of one value.

``FieldSpec`` (one field's definition) is built from this list; the schema document reads
and writes it, the ``Field`` model stores it (a test keeps the columns in step), the
compiled schema and the dashboard's editor derive from it. Which type takes which option,
and the rules between options, belong to the types (``ghee.content.field_types``).
"""

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import regex

from ghee.content.field_types.values import NAMED_PATTERNS, REGEX_PREFIX, compile_user_pattern


class OptionError(ValueError):
    """One option's value is not acceptable. The message follows the option's quoted name
    (``'min' must be a number``) unless ``standalone`` (``choice value 'x' appears twice``)."""

    def __init__(self, message: str, *, standalone: bool = False) -> None:
        super().__init__(message)
        self.standalone = standalone


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise OptionError(f"must be a string, not {value!r}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"must be true or false, not {value!r}")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise OptionError(f"must be a whole number >= 0, not {value!r}")
    return value


def _number(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise OptionError(f"must be a number, not {value!r}")
    return float(value)


def check_pattern(value: Any) -> str:
    allowed = f"one of {', '.join(NAMED_PATTERNS)} or {REGEX_PREFIX}<expression>"
    if not isinstance(value, str):
        raise OptionError(f"must be {allowed}, not {value!r}")
    if value.startswith(REGEX_PREFIX):
        expression = value[len(REGEX_PREFIX) :]
        if not expression:
            raise OptionError("regex:<expression> has an empty expression")
        try:
            compile_user_pattern(expression)
        except regex.error as exc:
            raise OptionError(f"{expression!r} is not a valid regular expression: {exc}") from exc
        return value
    if value not in NAMED_PATTERNS:
        raise OptionError(f"unknown pattern {value!r} ({allowed})", standalone=True)
    return value


def choice_values(choices: Any) -> list:
    """The values of a dropdown's choices (plain values or ``{label, value}``)."""
    values = [c.get("value") if isinstance(c, Mapping) else c for c in choices or ()]
    return [value for value in values if value is not None]


def _choices(value: Any) -> tuple:
    if not isinstance(value, list | tuple):
        raise OptionError("must be a list of values or {label, value}")
    choices, seen = [], set()
    for index, choice in enumerate(value):
        if isinstance(choice, Mapping):
            if set(choice) != {"label", "value"} or not all(
                isinstance(choice[k], str) and choice[k] for k in ("label", "value")
            ):
                raise OptionError(
                    f"choices[{index}] must be a string or {{label, value}} with two "
                    f"non-empty strings, not {dict(choice)!r}",
                    standalone=True,
                )
            choice_value = choice["value"]
            choice = {"label": choice["label"], "value": choice_value}
        elif isinstance(choice, str) and choice:
            choice_value = choice
        else:
            raise OptionError(
                f"choices[{index}] must be a non-empty string, not {choice!r} "
                "(quote values such as yes, no or 10 in YAML)",
                standalone=True,
            )
        if choice_value in seen:
            raise OptionError(f"choice value {choice_value!r} appears twice", standalone=True)
        seen.add(choice_value)
        choices.append(choice)
    return tuple(choices)


@dataclass(frozen=True)
class Option:
    name: str  # in the schema document
    attribute: str  # on FieldSpec and the Field model
    default: Any  # the value when not given (an export leaves it out)
    check: Callable[[Any], Any] | None  # the stored form, or OptionError
    every_type: bool = False  # taken by every type (else by the types that name it)
    export: Callable[[Any], Any] | None = None  # the stored form as a document writes it


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _plain_choices(choices: tuple) -> list:
    return [dict(c) if isinstance(c, Mapping) else c for c in choices]


# In the order an export writes them (``key``, ``name`` and ``type`` come first).
OPTIONS: tuple[Option, ...] = (
    Option("required", "required", False, _flag, every_type=True),
    Option("min_length", "min_length", None, _count),
    Option("max_length", "max_length", None, _count),
    Option("pattern", "pattern", "", check_pattern),
    Option("min", "min_value", None, _number, export=_plain_number),
    Option("max", "max_value", None, _number, export=_plain_number),
    Option("choices", "choices", (), _choices, export=_plain_choices),
    Option("to", "reference_to", "", _string),
    Option("many", "many", False, _flag),
    Option("default", "default", None, None, every_type=True),  # checked by the type
    Option("help_text", "help_text", "", _string, every_type=True),
    Option("translatable", "translatable", True, _flag, every_type=True),
)

# One field's definition: key, name, type and every option's attribute.
FieldSpec = dataclasses.make_dataclass(
    "FieldSpec",
    [("key", str), ("type", str), ("name", str, dataclasses.field(default=""))]
    + [(o.attribute, Any, dataclasses.field(default=o.default)) for o in OPTIONS],
    frozen=True,
)
FieldSpec.__module__ = __name__
FieldSpec.__doc__ = "One field's definition: key, type, name and every option in ``OPTIONS``."
MODEL_ATTRIBUTES = ("name", "type", *(o.attribute for o in OPTIONS))


def spec_from_model(field: Any) -> Any:
    """A ``Field`` row (or anything with its attributes) as a ``FieldSpec``."""
    values = {attribute: getattr(field, attribute) for attribute in MODEL_ATTRIBUTES}
    values["choices"] = tuple(values["choices"] or ())
    return FieldSpec(key=field.key, **values)


def model_values(spec: Any) -> dict:
    """A spec's ``Field`` model attributes (all but collection, key and order)."""
    values = {attribute: getattr(spec, attribute) for attribute in MODEL_ATTRIBUTES}
    values["choices"] = _plain_choices(spec.choices)
    return values
