"""The schema document: collections and their fields as YAML or JSON.

Pure functions, no database: ``load_text`` parses a file, ``validate_document`` checks it
and returns a ``SchemaDocument`` (or raises ``SchemaError`` listing every problem, each
naming its collection and field), and ``document_to_data`` / ``dump_data`` write the same
format back out, leaving out every option that has its default value so an export applies
back to the same schema.

```yaml
collections:
  - key: team_members
    name: Team Members
    label: name
    fields:
      - {key: name, type: short_text, required: true, max_length: 120}
      - {key: department, type: reference, to: departments}
```
"""

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import yaml

from ghee.content.choices import FieldType

TEXT_TYPES = frozenset(
    {FieldType.SHORT_TEXT, FieldType.LONG_TEXT, FieldType.WYSIWYG, FieldType.HTML}
)
NAMED_PATTERNS = ("email", "url", "us_phone", "us_zip")
REGEX_PREFIX = "regex:"
# `meta` holds the item id in every API response, so no field may be called that.
RESERVED_FIELD_KEYS = frozenset({"meta"})
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")

DOCUMENT_OPTIONS = ("collections",)
COLLECTION_OPTIONS = ("key", "name", "label", "fields")
# In the order an export writes them.
FIELD_OPTIONS = (
    "key",
    "name",
    "type",
    "required",
    "min_length",
    "max_length",
    "pattern",
    "min",
    "max",
    "choices",
    "to",
    "many",
    "default",
    "help_text",
    "translatable",
)


class SchemaError(Exception):
    """A schema document that cannot be applied; ``errors`` has one message per problem."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class FieldSpec:
    key: str
    name: str
    type: str
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str = ""
    min_value: float | None = None
    max_value: float | None = None
    choices: tuple = ()
    reference_to: str = ""
    many: bool = False
    default: object = None
    help_text: str = ""
    translatable: bool = True

    def model_values(self) -> dict:
        """The ``Field`` model's attributes (all but collection and order)."""
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "pattern": self.pattern,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "choices": list(self.choices),
            "reference_to": self.reference_to,
            "many": self.many,
            "default": self.default,
            "help_text": self.help_text,
            "translatable": self.translatable,
        }


@dataclass(frozen=True)
class CollectionSpec:
    key: str
    name: str
    label: str = ""
    fields: tuple[FieldSpec, ...] = ()


@dataclass(frozen=True)
class SchemaDocument:
    collections: tuple[CollectionSpec, ...] = ()

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.collections]


def default_name(key: str) -> str:
    """The display name a collection or field gets when the file gives none."""
    return re.sub(r"[_-]+", " ", key).strip().title() or key


# --- Reading ------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise SchemaError(
                    [f"line {key_node.start_mark.line + 1}: the key {key!r} appears twice"]
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_text(text: str, name: str = "schema") -> object:
    """Parse a schema file's text: JSON when it looks like JSON, else YAML."""
    stripped = text.lstrip()
    if name.endswith(".json") or stripped.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(
                [f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
            ) from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except SchemaError as exc:
        raise SchemaError([f"{name}: {exc.errors[0]}"]) from exc
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemaError([f"{name}: not valid YAML: {problem}{where}"]) from exc


# --- Validation ----------------------------------------------------------------------------


def _is_number(value) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _choice_values(choices) -> list:
    return [c["value"] if isinstance(c, Mapping) else c for c in choices]


class _Validator:
    def __init__(self, known_keys: Iterable[str]) -> None:
        self.errors: list[str] = []
        self.known_keys = set(known_keys)

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    # The document ---------------------------------------------------------------------

    def document(self, data) -> SchemaDocument:
        if not isinstance(data, Mapping) or not isinstance(data.get("collections"), list):
            raise SchemaError(
                ["the schema must be a mapping with a 'collections' list, e.g. 'collections: []'"]
            )
        for unknown in sorted(set(data) - set(DOCUMENT_OPTIONS), key=str):
            self.error("schema", f"unknown top-level key {unknown!r} (only 'collections')")

        raw = data["collections"]
        file_keys = [c.get("key") for c in raw if isinstance(c, Mapping)]
        self.known_keys |= {k for k in file_keys if isinstance(k, str)}
        collections, seen = [], set()
        for index, item in enumerate(raw):
            spec = self.collection(index, item)
            if spec is None:
                continue
            if spec.key in seen:
                self.error(f"collection {spec.key!r}", "the key is used by another collection")
                continue
            seen.add(spec.key)
            collections.append(spec)
        if self.errors:
            raise SchemaError(self.errors)
        return SchemaDocument(tuple(collections))

    # A collection ----------------------------------------------------------------------

    def collection(self, index: int, data) -> CollectionSpec | None:
        where = f"collections[{index}]"
        if not isinstance(data, Mapping):
            self.error(where, "each collection must be a mapping with key, name and fields")
            return None
        key = data.get("key")
        if not self.valid_key(where, key):
            return None
        where = f"collection {key!r}"
        for unknown in sorted(set(data) - set(COLLECTION_OPTIONS), key=str):
            self.error(
                where, f"unknown option {unknown!r} (allowed: {', '.join(COLLECTION_OPTIONS)})"
            )
        name = self.text(where, "name", data.get("name"), default=default_name(key))
        label = self.text(where, "label", data.get("label"), default="")

        raw_fields = data.get("fields")
        if not isinstance(raw_fields, list):
            self.error(where, "'fields' must be a list of fields (it may be empty: 'fields: []')")
            raw_fields = []
        fields, seen = [], set()
        for field_index, item in enumerate(raw_fields):
            spec = self.field(where, field_index, item)
            if spec is None:
                continue
            if spec.key in seen:
                self.error(f"{where}, field {spec.key!r}", "the key is used by another field")
                continue
            seen.add(spec.key)
            fields.append(spec)

        if label:
            raw_keys = {f.get("key") for f in raw_fields if isinstance(f, Mapping)}
            by_key = {f.key: f for f in fields}
            if label not in raw_keys:
                self.error(where, f"label {label!r} is not one of the collection's fields")
            elif label in by_key and by_key[label].type == FieldType.REFERENCE:
                self.error(where, f"label {label!r} is a reference field; a label cannot be one")
        return CollectionSpec(key=key, name=name, label=label, fields=tuple(fields))

    # A field ---------------------------------------------------------------------------

    def field(self, collection_where: str, index: int, data) -> FieldSpec | None:
        where = f"{collection_where}, fields[{index}]"
        if not isinstance(data, Mapping):
            self.error(where, "each field must be a mapping with at least key and type")
            return None
        key = data.get("key")
        if not self.valid_key(where, key):
            return None
        where = f"{collection_where}, field {key!r}"
        if key in RESERVED_FIELD_KEYS:
            self.error(where, f"{key!r} is reserved (the API puts the item id there)")
            return None
        errors_before = len(self.errors)
        for unknown in sorted(set(data) - set(FIELD_OPTIONS), key=str):
            self.error(where, f"unknown option {unknown!r} (allowed: {', '.join(FIELD_OPTIONS)})")

        type_ = data.get("type")
        if type_ is None:
            self.error(where, f"missing 'type' (one of {', '.join(FieldType.values)})")
            return None
        if type_ not in FieldType.values:
            self.error(where, f"unknown type {type_!r} (one of {', '.join(FieldType.values)})")
            return None

        spec = FieldSpec(
            key=key,
            name=self.text(where, "name", data.get("name"), default=default_name(key)),
            type=type_,
            required=self.flag(where, data, "required", default=False),
            translatable=self.flag(where, data, "translatable", default=True),
            help_text=self.text(where, "help_text", data.get("help_text"), default=""),
            **self.lengths(where, type_, data),
            pattern=self.pattern(where, type_, data.get("pattern")),
            **self.bounds(where, type_, data),
            choices=self.choices(where, type_, data.get("choices")),
            **self.reference(where, type_, data),
        )
        if "default" in data and data["default"] is not None:
            spec = self.default(where, spec, data["default"])
        if len(self.errors) > errors_before:
            return None
        return spec

    # Options ---------------------------------------------------------------------------

    def valid_key(self, where: str, key) -> bool:
        if key is None:
            self.error(where, "missing 'key'")
            return False
        if not isinstance(key, str) or not KEY_RE.match(key):
            self.error(
                where,
                f"invalid key {key!r}: use lowercase letters, digits, '_' and '-' "
                "(starting with a letter or digit, at most 100 characters)",
            )
            return False
        return True

    def text(self, where: str, option: str, value, default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str):
            self.error(where, f"{option!r} must be a string, not {value!r}")
            return default
        return value

    def flag(self, where: str, data: Mapping, option: str, default: bool) -> bool:
        value = data.get(option, default)
        if not isinstance(value, bool):
            self.error(where, f"{option!r} must be true or false, not {value!r}")
            return default
        return value

    def not_for(self, where: str, type_: str, data: Mapping, options: Iterable[str], for_: str):
        for option in options:
            if data.get(option) is not None:
                self.error(where, f"{option!r} applies to {for_} fields only, not {type_}")

    def lengths(self, where: str, type_: str, data: Mapping) -> dict:
        if type_ not in TEXT_TYPES:
            self.not_for(where, type_, data, ("min_length", "max_length"), "text")
            return {}
        values = {}
        for option in ("min_length", "max_length"):
            value = data.get(option)
            if value is not None and not _is_count(value):
                self.error(where, f"{option!r} must be a whole number >= 0, not {value!r}")
                value = None
            values[option] = value
        low, high = values["min_length"], values["max_length"]
        if low is not None and high is not None and low > high:
            self.error(where, f"min_length {low} is greater than max_length {high}")
        return values

    def pattern(self, where: str, type_: str, value) -> str:
        if value is None:
            return ""
        if type_ not in TEXT_TYPES:
            self.error(where, f"'pattern' applies to text fields only, not {type_}")
            return ""
        allowed = f"one of {', '.join(NAMED_PATTERNS)} or {REGEX_PREFIX}<expression>"
        if not isinstance(value, str):
            self.error(where, f"'pattern' must be {allowed}, not {value!r}")
            return ""
        if value.startswith(REGEX_PREFIX):
            expression = value[len(REGEX_PREFIX) :]
            if not expression:
                self.error(where, "'pattern' regex:<expression> has an empty expression")
                return ""
            try:
                re.compile(expression)
            except re.error as exc:
                self.error(
                    where, f"'pattern' {expression!r} is not a valid regular expression: {exc}"
                )
                return ""
            return value
        if value not in NAMED_PATTERNS:
            self.error(where, f"unknown pattern {value!r} ({allowed})")
            return ""
        return value

    def bounds(self, where: str, type_: str, data: Mapping) -> dict:
        if type_ != FieldType.NUMBER:
            self.not_for(where, type_, data, ("min", "max"), "number")
            return {}
        values = {}
        for option in ("min", "max"):
            value = data.get(option)
            if value is not None and not _is_number(value):
                self.error(where, f"{option!r} must be a number, not {value!r}")
                value = None
            values[option] = None if value is None else float(value)
        low, high = values["min"], values["max"]
        if low is not None and high is not None and low > high:
            self.error(where, f"min {data['min']} is greater than max {data['max']}")
        return {"min_value": low, "max_value": high}

    def choices(self, where: str, type_: str, value) -> tuple:
        if type_ != FieldType.DROPDOWN:
            if value is not None:
                self.error(where, f"'choices' applies to dropdown fields only, not {type_}")
            return ()
        if not isinstance(value, list) or not value:
            self.error(where, "a dropdown needs 'choices': a list of values or {label, value}")
            return ()
        choices, seen = [], set()
        for index, choice in enumerate(value):
            if isinstance(choice, Mapping):
                if set(choice) != {"label", "value"} or not all(
                    isinstance(choice[k], str) and choice[k] for k in ("label", "value")
                ):
                    self.error(
                        where,
                        f"choices[{index}] must be a string or {{label, value}} with two "
                        f"non-empty strings, not {dict(choice)!r}",
                    )
                    continue
                choice_value = choice["value"]
                choice = {"label": choice["label"], "value": choice_value}
            elif isinstance(choice, str) and choice:
                choice_value = choice
            else:
                self.error(
                    where,
                    f"choices[{index}] must be a non-empty string, not {choice!r} "
                    "(quote values such as yes, no or 10 in YAML)",
                )
                continue
            if choice_value in seen:
                self.error(where, f"choice value {choice_value!r} appears twice")
                continue
            seen.add(choice_value)
            choices.append(choice)
        return tuple(choices)

    def reference(self, where: str, type_: str, data: Mapping) -> dict:
        if type_ != FieldType.REFERENCE:
            self.not_for(where, type_, data, ("to", "many"), "reference")
            return {}
        to = data.get("to")
        many = self.flag(where, data, "many", default=False)
        if to is None:
            self.error(where, "a reference needs 'to': the key of the collection it points to")
            return {"many": many}
        if not isinstance(to, str) or to not in self.known_keys:
            self.error(
                where, f"'to' names {to!r}, which is not a collection in this file or organization"
            )
            return {"many": many}
        return {"reference_to": to, "many": many}

    def default(self, where: str, spec: FieldSpec, value) -> FieldSpec:
        """Check a default against its field's type; returns the spec with the stored form."""
        type_ = spec.type
        problem = None
        if type_ == FieldType.REFERENCE:
            problem = "reference fields take no default"
        elif type_ in TEXT_TYPES or type_ == FieldType.MEDIA:
            if not isinstance(value, str):
                problem = "must be a string"
            elif spec.max_length is not None and len(value) > spec.max_length:
                problem = f"is longer than max_length {spec.max_length}"
            elif spec.min_length is not None and len(value) < spec.min_length:
                problem = f"is shorter than min_length {spec.min_length}"
        elif type_ == FieldType.NUMBER:
            if not _is_number(value):
                problem = "must be a number"
            elif spec.min_value is not None and value < spec.min_value:
                problem = "is less than min"
            elif spec.max_value is not None and value > spec.max_value:
                problem = "is greater than max"
        elif type_ == FieldType.CHECKBOX:
            if not isinstance(value, bool):
                problem = "must be true or false"
        elif type_ == FieldType.DROPDOWN:
            if value not in _choice_values(spec.choices):
                problem = "must be one of the choice values"
        elif type_ == FieldType.COLOR:
            if not isinstance(value, str) or not COLOR_RE.match(value):
                problem = "must be a color like '#1a2b3c'"
            else:
                value = value.lower()
        elif type_ == FieldType.DATE:
            stored = _date_default(value)
            if stored is not None:
                value = stored
            else:
                problem = "must be a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM:SS)"
        if problem:
            self.error(where, f"default {value!r} {problem}")
            return spec
        return dataclasses.replace(spec, default=value)


def _date_default(value) -> str | None:
    """A date default in the stored form ``YYYY-MM-DDTHH:MM:SS``, or None if it is not one."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0).isoformat()


def validate_document(data, known_collection_keys: Iterable[str] = ()) -> SchemaDocument:
    """Check a parsed schema document; raises ``SchemaError`` listing every problem.

    ``known_collection_keys`` are collections outside the file that references may point to
    (the organization's existing collections, when they are kept).
    """
    return _Validator(known_collection_keys).document(data)


# --- Writing -------------------------------------------------------------------------------


def _plain_number(value: float):
    return int(value) if float(value).is_integer() else value


def field_to_data(spec: FieldSpec) -> dict:
    """One field as the file format, without the options that have their default value."""
    data: dict = {"key": spec.key}
    if spec.name != default_name(spec.key):
        data["name"] = spec.name
    data["type"] = spec.type
    optional = {
        "required": (spec.required, False),
        "min_length": (spec.min_length, None),
        "max_length": (spec.max_length, None),
        "pattern": (spec.pattern, ""),
        "min": (None if spec.min_value is None else _plain_number(spec.min_value), None),
        "max": (None if spec.max_value is None else _plain_number(spec.max_value), None),
        "choices": ([dict(c) if isinstance(c, Mapping) else c for c in spec.choices], []),
        "to": (spec.reference_to, ""),
        "many": (spec.many, False),
        "default": (spec.default, None),
        "help_text": (spec.help_text, ""),
        "translatable": (spec.translatable, True),
    }
    for option, (value, default) in optional.items():
        if value != default:
            data[option] = value
    return data


def collection_to_data(spec: CollectionSpec) -> dict:
    data: dict = {"key": spec.key}
    if spec.name != default_name(spec.key):
        data["name"] = spec.name
    if spec.label:
        data["label"] = spec.label
    data["fields"] = [field_to_data(f) for f in spec.fields]
    return data


def document_to_data(document: SchemaDocument) -> dict:
    return {"collections": [collection_to_data(c) for c in document.collections]}


class _FlowMapping(dict):
    """A field: written on one line, ``{key: name, type: short_text}``, as in the docs."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _FlowMapping,
    lambda dumper, data: dumper.represent_mapping(
        "tag:yaml.org,2002:map", data.items(), flow_style=True
    ),
)


def dump_data(data: dict, fmt: str = "yaml") -> str:
    """The document as YAML (fields one per line) or JSON."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt != "yaml":
        raise ValueError(f"unknown format {fmt!r} (yaml or json)")
    shaped = {
        "collections": [
            {**c, "fields": [_FlowMapping(f) for f in c["fields"]]} for c in data["collections"]
        ]
    }
    return yaml.dump(
        shaped, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=float("inf")
    )
