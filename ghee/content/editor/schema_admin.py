"""The schema editor: a collection with its ordered fields (``/admin/content/collection/``).

The editor saves through ``schema.services.save_collection``, the service behind
``ghee schema apply``: the form is checked by a dry run of that service (same rules, same
messages, same refusal to change a field's shape while the collection has items), and the
save applies it, which moves the collection's ``updated_at`` and makes stored items follow
added and removed fields.

What it adds to a plain inline form: each field shows only its type's options
(``content/schema_editor.js`` hides the others; without JavaScript all are shown and the
save refuses the ones that do not apply), up/down buttons that renumber ``order``, the
label field offered from the collection's field keys, and a confirmation that names how
many items lose their values before a field is removed (or renamed: a new key is a new
field). Help texts are shown as text, never as HTML.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import escape, format_html

from ghee.accounts.admin_scoping import OrganizationScopedAdmin, OrganizationScopedInline
from ghee.content.editor.listing import field_count, live_item_count
from ghee.content.field_types import FIELD_TYPES
from ghee.content.field_types.options import MODEL_ATTRIBUTES, OPTIONS
from ghee.content.models import Collection, Field, Item
from ghee.content.schema.document import SchemaError
from ghee.content.schema.services import save_collection

CONFIRM_REMOVAL = "confirm_removal"
_FLAGS = {option.name: option.default for option in OPTIONS if isinstance(option.default, bool)}
_ATTRIBUTE = {option.name: option.attribute for option in OPTIONS}


def type_options() -> dict[str, list[str]]:
    """Each type's own options as model attributes, for the script (the options every
    type takes stay visible; ``-default``: this type takes no default)."""
    shown = {}
    for name, kind in FIELD_TYPES.items():
        attributes = [_ATTRIBUTE[option] for option in kind.options]
        if not kind.takes_default:
            attributes.append("-default")  # hidden, although every other type takes one
        shown[name] = attributes
    return shown


def _field_data(data: dict) -> dict:
    """An inline form's cleaned data in the schema file's format (empty options left out)."""
    values = {"key": data.get("key"), "name": data.get("name"), "type": data.get("type")}
    for option in OPTIONS:
        values[option.name] = data.get(option.attribute)
    # A blank form input is "not given"; so is an unticked box that is the default.
    return {
        name: value
        for name, value in values.items()
        if value not in (None, "", [])
        and not (isinstance(value, bool) and name in _FLAGS and value == _FLAGS[name])
    }


def live_items(collection: Collection) -> int:
    if not collection.pk:
        return 0
    return Item.objects.filter(collection=collection, deleted_at__isnull=True).count()


class TextHelpForm(forms.ModelForm):
    """Help texts are plain text (the pattern help names ``regex:<expression>``), while
    Django's admin templates print them as HTML: escape them once here."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.help_text:
                field.help_text = escape(field.help_text)


class OptionalJSONField(forms.JSONField):
    """A JSON value that may be absent: shown as an empty box, not as ``null``."""

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)


class FieldForm(TextHelpForm):
    class Meta:
        model = Field
        fields = ["key", "order", *MODEL_ATTRIBUTES]
        field_classes = {"default": OptionalJSONField}
        widgets = {
            "type": forms.Select(attrs={"data-ghee-type-options": json.dumps(type_options())}),
            "order": forms.NumberInput(attrs={"class": "ghee-order", "min": 0}),
            "choices": forms.Textarea(attrs={"rows": 2}),
            "default": forms.Textarea(attrs={"rows": 1}),
            "help_text": forms.TextInput(attrs={"class": "vTextField"}),
        }


class FieldFormSet(BaseInlineFormSet):
    """Checks the fields by a dry run of the save; ``collection_data`` is what it saves.

    A field removed (or renamed) while the collection has items deletes its values from
    them: the save then waits for the collection form's confirmation box, whose name it
    reads from the same POST.
    """

    collection_data: dict | None = None

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        forms_kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        forms_kept.sort(key=lambda form: form.cleaned_data.get("order") or 0)
        collection = self.instance
        if not collection.key or not collection.organization_id:
            return  # the collection form itself is invalid and says why
        data = {"key": collection.key, "fields": [_field_data(f.cleaned_data) for f in forms_kept]}
        if collection.name:
            data["name"] = collection.name
        if collection.label_field:
            data["label"] = collection.label_field
        try:
            save_collection(collection.organization, data, dry_run=True)
        except SchemaError as exc:
            errors = list(exc.errors)
            if any("while the collection has items" in e for e in errors):
                errors.append(f"The collection has {live_items(collection)} items.")
            raise ValidationError(errors) from exc
        self._confirm_removals(collection, {field["key"] for field in data["fields"]})
        self.collection_data = data

    def _confirm_removals(self, collection: Collection, kept_keys: set[str]) -> None:
        if not collection.pk or self.data.get(CONFIRM_REMOVAL):
            return
        removed = sorted(
            set(Field.objects.filter(collection=collection).values_list("key", flat=True))
            - kept_keys
        )
        count = live_items(collection) if removed else 0
        if count:
            names = ", ".join(f"'{key}'" for key in removed)
            raise ValidationError(
                f"Removing field{'s' if len(removed) > 1 else ''} {names} deletes "
                f"{'their' if len(removed) > 1 else 'its'} values from {count} "
                f"item{'s' if count != 1 else ''}. Tick \u201cYes, remove the values\u201d "
                "under the collection's options and save again to go ahead.",
                code="confirm_removal",
            )


class FieldInline(OrganizationScopedInline, admin.StackedInline):
    model = Field
    form = FieldForm
    formset = FieldFormSet
    extra = 0
    ordering = ["order", "id"]
    classes = ["ghee-fields"]
    # Three short rows a field once the script has hidden the other types' options.
    fields = [
        ("key", "name", "type", "order", "required", "translatable"),
        ("min_length", "max_length", "pattern"),
        ("min_value", "max_value"),
        ("choices",),
        ("reference_to", "many"),
        ("default", "help_text"),
    ]

    class Media:
        js = ["content/schema_editor.js"]
        css = {"all": ["content/schema_editor.css"]}


class CollectionForm(TextHelpForm):
    confirm_removal = forms.BooleanField(
        required=False,
        label="Yes, remove the values",
        help_text="Needed only when a removed or renamed field still has values in items.",
    )

    class Meta:
        model = Collection
        fields = ["organization", "key", "name", "label_field"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "label_field" in self.fields:
            keys = []
            if self.instance.pk:
                keys = list(
                    self.instance.fields.exclude(type="reference").values_list("key", flat=True)
                )
            self.fields["label_field"].widget = LabelFieldInput(keys)


class LabelFieldInput(forms.TextInput):
    """A text input offering the collection's field keys (the script adds new ones)."""

    template_name = "admin/content/collection/label_field.html"

    def __init__(self, keys: list[str]):
        super().__init__({"list": "ghee-field-keys", "class": "vTextField"})
        self.keys = keys

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["keys"] = self.keys
        return context


class CollectionChangeList(ChangeList):
    """The collection list with each row's field and item counts from the same query."""

    def get_queryset(self, request, exclude_parameters=None):
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .annotate(listed_field_count=field_count(), listed_item_count=live_item_count())
        )


class CollectionAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    form = CollectionForm
    list_display = ["key", "name", "organization", "field_count", "item_count", "updated_at"]
    list_filter = ["organization"]
    search_fields = ["key", "name", "organization__slug"]
    inlines = [FieldInline]

    def get_fieldsets(self, request, obj=None):
        main = ["organization", "key", "name", "label_field", "created_at", "updated_at"]
        fieldsets = [(None, {"fields": main})]
        if obj is not None:
            fieldsets.append(
                (
                    "Removing fields",
                    {
                        "fields": [CONFIRM_REMOVAL],
                        "description": f"This collection has {live_items(obj)} items.",
                    },
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # Reference fields name their target by key: a key never changes once created.
        return ["created_at", "updated_at"] + (["organization", "key"] if obj else [])

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")

    def get_changelist(self, request, **kwargs):
        return CollectionChangeList

    @admin.display(description="Fields")
    def field_count(self, obj: Collection) -> int:
        if hasattr(obj, "listed_field_count"):
            return obj.listed_field_count
        return obj.fields.count()

    @admin.display(description="Items")
    def item_count(self, obj: Collection):
        count = getattr(obj, "listed_item_count", None)
        if count is None:
            count = live_items(obj)
        url = reverse("admin:content_item_list", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, count)

    def save_model(self, request, obj, form, change):
        """Nothing here: ``save_related`` saves the collection and its fields together."""

    def save_related(self, request, form, formsets, change):
        collection = form.instance
        [fields] = [f for f in formsets if isinstance(f, FieldFormSet)]
        save_collection(collection.organization, fields.collection_data)
        saved = Collection.objects.get(organization=collection.organization, key=collection.key)
        collection.pk, collection.updated_at = saved.pk, saved.updated_at
        # What the admin's change message reads from a saved formset.
        fields.new_objects, fields.changed_objects, fields.deleted_objects = [], [], []
