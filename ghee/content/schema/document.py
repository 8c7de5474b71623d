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
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import yaml

from ghee.content.field_types import FIELD_TYPES, TEXT_TYPES, check_default, field_type
from ghee.content.field_types.options import OPTIONS, FieldSpec, Option, OptionError

# `meta` holds the item id in every API response, so no field may be called that.
RESERVED_FIELD_KEYS = frozenset({"meta"})
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")

DOCUMENT_OPTIONS = ("collections",)
COLLECTION_OPTIONS = ("key", "name", "label", "fields")
# In the order an export writes them.
FIELD_OPTIONS = ("key", "name", "type", *(option.name for option in OPTIONS))


class SchemaError(Exception):
    """A schema document that cannot be applied; ``errors`` has one message per problem."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


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


def _owners(option: Option) -> str:
    """Which fields take ``option``, for a message: "text", "number", ..."""
    names = [name for name, kind in FIELD_TYPES.items() if option.name in kind.options]
    return "text" if set(names) == TEXT_TYPES else " or ".join(names)


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
            elif label in by_key and field_type(by_key[label].type).is_reference:
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
            self.error(where, f"missing 'type' (one of {', '.join(FIELD_TYPES)})")
            return None
        if type_ not in FIELD_TYPES:
            self.error(where, f"unknown type {type_!r} (one of {', '.join(FIELD_TYPES)})")
            return None
        kind = FIELD_TYPES[type_]
        values = {"name": self.text(where, "name", data.get("name"), default=default_name(key))}
        for option in OPTIONS:
            value = data.get(option.name)
            if value is None:
                continue
            if not option.every_type and option.name not in kind.options:
                self.error(
                    where, f"{option.name!r} applies to {_owners(option)} fields only, not {type_}"
                )
            elif option.check is None:
                values[option.attribute] = value
            else:
                try:
                    values[option.attribute] = option.check(value)
                except OptionError as exc:
                    message = str(exc) if exc.standalone else f"{option.name!r} {exc}"
                    self.error(where, message)
        if len(self.errors) > errors_before:
            return None

        spec = FieldSpec(key=key, type=type_, **values)
        for problem in kind.option_problems(spec):
            self.error(where, problem)
        if kind.is_reference and spec.reference_to and spec.reference_to not in self.known_keys:
            self.error(
                where,
                f"'to' names {spec.reference_to!r}, which is not a collection in this file "
                "or organization",
            )
        if spec.default is not None:
            stored, problem = check_default(spec)
            if problem:
                self.error(where, f"default {spec.default!r} {problem}")
            else:
                spec = dataclasses.replace(spec, default=stored)
        if len(self.errors) > errors_before:
            return None
        return spec

    # Keys and collection options -------------------------------------------------------

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


def validate_document(data, known_collection_keys: Iterable[str] = ()) -> SchemaDocument:
    """Check a parsed schema document; raises ``SchemaError`` listing every problem.

    ``known_collection_keys`` are collections outside the file that references may point to
    (the organization's existing collections, when they are kept).
    """
    return _Validator(known_collection_keys).document(data)


# --- Writing -------------------------------------------------------------------------------


def field_to_data(spec: FieldSpec) -> dict:
    """One field as the file format, without the options that have their default value."""
    data: dict = {"key": spec.key}
    if spec.name != default_name(spec.key):
        data["name"] = spec.name
    data["type"] = spec.type
    for option in OPTIONS:
        value = getattr(spec, option.attribute)
        if value != option.default:
            data[option.name] = option.export(value) if option.export else value
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
