"""The item form, generated from a collection's compiled schema.

One Django form per locale (prefix = the locale code; ``""`` -> prefix ``item`` for an
organization without locales) holds the translatable fields; one more form (prefix
``shared``) holds the fields that are not translatable, whose one value goes to every
locale. The forms only read inputs: the values they give (``api_values``) are what a
Write API client would send, and ``ghee.content.write.validation`` checks them with the
same rules and messages as the API. Its errors come back onto the inputs
(``add_api_errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.html import escape

from ghee.content.editor import widgets
from ghee.content.field_types.options import choice_values
from ghee.content.schema.compiled import CompiledField, CompiledSchema
from ghee.content.schema.document import default_name

SHARED = "shared"
NO_LOCALE_PREFIX = "item"
TEXTAREA_TYPES = {"long_text": 6, "html": 10}


def _choice_pairs(spec) -> list[tuple[str, str]]:
    pairs = []
    for choice in spec.choices:
        if isinstance(choice, dict):
            pairs.append((str(choice["value"]), str(choice.get("label") or choice["value"])))
    values = [str(value) for value in choice_values(spec.choices)]
    labels = dict(pairs)
    return [(value, labels.get(value, value)) for value in values]


def form_field(field: CompiledField, reference_choices: list[tuple[int, str]]) -> forms.Field:
    """The input for one schema field (never ``required``: the API's check decides)."""
    spec = field.spec
    common = {
        "required": False,
        "label": spec.name or default_name(spec.key),
        # Help texts are the schema author's plain text (Django admin renders them as HTML).
        "help_text": escape(spec.help_text),
    }
    kind = field.type
    if kind == "wysiwyg":
        return forms.CharField(strip=False, widget=widgets.RichTextWidget(), **common)
    if kind in TEXTAREA_TYPES:
        rows = TEXTAREA_TYPES[kind]
        return forms.CharField(
            strip=False, widget=forms.Textarea({"rows": rows, "class": "vLargeTextField"}), **common
        )
    if kind == "number":
        return forms.CharField(widget=forms.NumberInput({"step": "any"}), **common)
    if kind == "date":
        return forms.CharField(
            widget=forms.DateTimeInput({"type": "datetime-local", "step": 1}), **common
        )
    if kind == "checkbox":
        return forms.BooleanField(**common)
    if kind == "dropdown":
        return forms.ChoiceField(choices=[("", "---------"), *_choice_pairs(spec)], **common)
    if kind == "color":
        return forms.CharField(widget=widgets.ColorWidget(), **common)
    if kind == "media":
        return forms.Field(widget=widgets.MediaWidget(), **common)
    if kind == "reference":
        target = field.reference_collection_id or 0
        if field.many:
            return forms.TypedMultipleChoiceField(
                choices=reference_choices,
                coerce=int,
                widget=widgets.ReferenceSelectMultiple(target),
                **common,
            )
        return forms.TypedChoiceField(
            choices=[("", "---------"), *reference_choices],
            coerce=int,
            empty_value=None,
            widget=widgets.ReferenceSelect(target),
            **common,
        )
    return forms.CharField(
        strip=False, widget=forms.TextInput({"class": "vTextField"}), max_length=None, **common
    )


class ValuesForm(forms.Form):
    """The inputs of one locale (or of the shared fields), built from ``fields``."""

    def __init__(self, *args, fields: list[CompiledField], references: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema_fields = {field.key: field for field in fields}
        for field in fields:
            self.fields[field.key] = form_field(field, references.get(field.key, []))
            # Marked in the label; never the HTML attribute (Unpublish must still submit).
            self.fields[field.key].ghee_required = field.required

    def api_values(self) -> dict[str, Any]:
        """What the inputs say, as a JSON write body's field values."""
        values = {}
        for key, field in self.schema_fields.items():
            values[key] = _api_value(field, self.cleaned_data.get(key))
        return values

    def uploads(self) -> dict[str, Any]:
        """Files chosen in media inputs: field key -> uploaded file."""
        found = {}
        for key, field in self.schema_fields.items():
            if field.type == "media":
                _url, upload = self.fields[key].widget.value_from_datadict(
                    self.data, self.files, self.add_prefix(key)
                )
                if upload:
                    found[key] = upload
        return found

    def is_blank(self) -> bool:
        """True when no input holds a value (a locale the editor did not fill in)."""
        return all(value in (None, "", [], False) for value in self.api_values().values())


def _messages(messages) -> list[str]:
    if isinstance(messages, dict):  # deeper than a field (a list element): say where
        return [f"{k}: {m}" for k, v in messages.items() for m in _messages(v)]
    return [str(m) for m in messages]


def _api_value(field: CompiledField, value: Any) -> Any:
    kind = field.type
    if kind == "media":
        url, _upload = value if isinstance(value, tuple) else (value, None)
        return (url or "").strip() or None
    if kind == "checkbox":
        return bool(value)
    if kind == "reference":
        if field.many:
            return list(value or [])
        return value
    if value is None:
        return None
    if kind in ("long_text", "html", "wysiwyg"):
        return value.replace("\r\n", "\n")
    if kind in ("short_text",):
        return value
    value = value.strip()
    return value or None


def initial_values(field: CompiledField, value: Any) -> Any:
    """A stored value as its input shows it."""
    if value is None:
        return None
    if field.type == "date" and isinstance(value, str):
        return value[:19]
    return value


@dataclass
class ItemForms:
    """All the forms of one item page: per locale, plus the shared (non-translatable) one."""

    schema: CompiledSchema
    locales: list[str]  # "" alone without locales
    by_locale: dict[str, ValuesForm]
    shared: ValuesForm | None

    @property
    def all_forms(self) -> list[ValuesForm]:
        return [*self.by_locale.values(), *([self.shared] if self.shared else [])]

    def is_valid(self) -> bool:
        return all([form.is_valid() for form in self.all_forms])

    def media_inputs(self) -> list[str]:
        """The input names of the media fields (each has ``<name>__upload`` beside it)."""
        return [
            form.add_prefix(key)
            for form in self.all_forms
            for key, field in form.schema_fields.items()
            if field.type == "media"
        ]

    def add_input_error(self, name: str, message: str) -> None:
        for form in self.all_forms:
            for key in form.fields:
                if form.add_prefix(key) == name:
                    form.add_error(key, message)

    def values(self, stored: dict[str, dict] | None) -> dict[str, dict]:
        """``{locale: {field: value}}`` to write: every locale the item already has or the
        editor filled in (at least the default one), each with the shared fields' values."""
        shared = self.shared.api_values() if self.shared else {}
        stored = stored or {}
        values = {
            locale: {**form.api_values(), **shared}
            for locale, form in self.by_locale.items()
            if not locale or locale in stored or not form.is_blank()
        }
        if not values:
            default = self.schema.locales.default
            values[default] = {**self.by_locale[default].api_values(), **shared}
        return values

    def add_api_errors(self, errors: dict) -> list[str]:
        """Put ``{locale: {field: [messages]}}`` (``""``: not a locale's) on the inputs;
        return the messages that belong to no input."""
        leftover: list[str] = []
        shared_keys = set(self.shared.fields) if self.shared else set()
        for locale, by_field in errors.items():
            form = self.by_locale.get(locale)
            if not isinstance(by_field, dict):
                leftover += [str(m) for m in by_field]
                continue
            for key, messages in by_field.items():
                target = self.shared if key in shared_keys else form
                if target is None or key not in target.fields:
                    where = f"{locale}: " if locale else ""
                    leftover += [f"{where}{key}: {m}" for m in _messages(messages)]
                    continue
                for message in _messages(messages):
                    if message not in target.errors.get(key, []):
                        target.add_error(key, message)
        return leftover

    def error_locales(self) -> set[str]:
        return {locale for locale, form in self.by_locale.items() if form.errors}


def build_forms(
    schema: CompiledSchema,
    *,
    data=None,
    files=None,
    stored: dict[str, dict] | None = None,
    references: dict[str, list[tuple[int, str]]] | None = None,
) -> ItemForms:
    """The forms for a new item (``stored`` None) or an item with ``stored`` values by locale."""
    locales = list(schema.locales.codes) or [""]
    has_locales = bool(schema.locales.codes)
    fields = list(schema.fields.values())
    translatable = [f for f in fields if f.translatable or not has_locales]
    shared_fields = [f for f in fields if has_locales and not f.translatable]
    stored = stored or {}
    references = references or {}

    def initial(locale: str, chosen: list[CompiledField]) -> dict:
        values = stored.get(locale)
        if values is None:
            return {f.key: initial_values(f, f.default) for f in chosen}
        return {f.key: initial_values(f, values.get(f.key)) for f in chosen}

    by_locale = {
        locale: ValuesForm(
            data,
            files,
            prefix=locale or NO_LOCALE_PREFIX,
            initial=initial(locale, translatable),
            fields=translatable,
            references=references,
        )
        for locale in locales
    }
    shared = None
    if shared_fields:
        first = next((code for code in locales if code in stored), schema.locales.default)
        shared = ValuesForm(
            data,
            files,
            prefix=SHARED,
            initial=initial(first, shared_fields),
            fields=shared_fields,
            references=references,
        )
    return ItemForms(schema, locales, by_locale, shared)
