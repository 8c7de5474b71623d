"""The schema editor (a collection with its ordered fields) and a read-only view of jobs.

The field inline is checked with the same rules as a schema file (``schema.py``), and a
save goes on like ``ghee schema apply``: the collection is saved (its ``updated_at`` moves,
so compiled-schema caches notice) and stored items follow added and removed fields.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from ghee.content.choices import FieldType
from ghee.content.models import Collection, Field, Job
from ghee.content.schema.document import SchemaError, validate_document
from ghee.content.schema.services import (
    collection_has_items,
    reconcile_item_data,
    shape_change_errors,
)


def _field_data(data: dict) -> dict:
    """An inline form's cleaned data in the schema file's format (empty options left out)."""
    type_ = data.get("type")
    values = {
        "key": data.get("key"),
        "name": data.get("name") or None,
        "type": type_,
        "required": data.get("required", False),
        "min_length": data.get("min_length"),
        "max_length": data.get("max_length"),
        "pattern": data.get("pattern") or None,
        "min": data.get("min_value"),
        "max": data.get("max_value"),
        "choices": data.get("choices") or None,
        "to": data.get("reference_to") or None,
        "default": data.get("default"),
        "help_text": data.get("help_text") or None,
        "translatable": data.get("translatable", True),
    }
    if type_ == FieldType.REFERENCE:
        values["many"] = data.get("many", False)
    return {key: value for key, value in values.items() if value is not None}


class FieldFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        forms = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        forms.sort(key=lambda form: form.cleaned_data.get("order") or 0)
        collection = self.instance
        if not collection.key or not collection.organization_id:
            return  # the collection form itself is invalid and says why
        spec = {"key": collection.key, "name": collection.name or None}
        if collection.label_field:
            spec["label"] = collection.label_field
        spec["fields"] = [_field_data(form.cleaned_data) for form in forms]
        document = {"collections": [{k: v for k, v in spec.items() if v is not None}]}
        known = Collection.objects.filter(organization_id=collection.organization_id)
        try:
            parsed = validate_document(document, known.values_list("key", flat=True))
        except SchemaError as exc:
            raise ValidationError(exc.errors) from exc
        field_specs = parsed.collections[0].fields
        if collection.pk and collection_has_items(collection):
            stored = {f.key: f for f in Field.objects.filter(collection=collection)}
            errors = [
                message
                for field_spec in field_specs
                if field_spec.key in stored
                for message in shape_change_errors(
                    collection.key, stored[field_spec.key], field_spec
                )
            ]
            if errors:
                raise ValidationError(errors)
        # Store what a schema file would: default names, normalised defaults.
        for form, field_spec in zip(forms, field_specs, strict=True):
            for attribute, value in field_spec.model_values().items():
                setattr(form.instance, attribute, value)


class FieldInline(admin.StackedInline):
    model = Field
    formset = FieldFormSet
    extra = 0
    ordering = ["order", "id"]
    fields = [
        ("key", "name", "type", "order"),
        ("required", "translatable"),
        ("min_length", "max_length", "pattern"),
        ("min_value", "max_value"),
        "choices",
        ("reference_to", "many"),
        "default",
        "help_text",
    ]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "organization", "field_count", "updated_at"]
    list_filter = ["organization"]
    search_fields = ["key", "name", "organization__slug"]
    inlines = [FieldInline]

    def get_readonly_fields(self, request, obj=None):
        # Reference fields name their target by key: a key never changes once created.
        return ["created_at", "updated_at"] + (["organization", "key"] if obj else [])

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")

    @admin.display(description="Fields")
    def field_count(self, obj: Collection) -> int:
        return obj.fields.count()

    def save_related(self, request, form, formsets, change):
        collection = form.instance
        before = set(collection.fields.values_list("key", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(collection.fields.values_list("key", flat=True))
        if before != after:
            reconcile_item_data(collection, removed_keys=before - after)
        collection.save(update_fields=["updated_at"])


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs are the workers' to change; here they can only be looked at."""

    list_display = [
        "id",
        "organization",
        "collection",
        "kind",
        "status",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "organization"]
    list_select_related = ["organization", "collection"]
    search_fields = ["id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
