"""The schema editor (a collection with its ordered fields) and a read-only view of jobs.

The editor saves through ``schema.services.save_collection``, the service behind
``ghee schema apply``: the form is checked by a dry run of that service (same rules, same
messages, same refusal to change a field's shape while the collection has items), and the
save applies it, which moves the collection's ``updated_at`` and makes stored items follow
added and removed fields.
"""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from ghee.content.editor.admin import ItemAdmin
from ghee.content.editor.listing import field_count, live_item_count
from ghee.content.field_types.options import OPTIONS
from ghee.content.models import Collection, Field, Item, Job
from ghee.content.schema.document import SchemaError
from ghee.content.schema.services import save_collection


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


_FLAGS = {option.name: option.default for option in OPTIONS if isinstance(option.default, bool)}


class FieldFormSet(BaseInlineFormSet):
    """Checks the fields by a dry run of the save; ``collection_data`` is what it saves."""

    collection_data: dict | None = None

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
        data = {"key": collection.key, "fields": [_field_data(f.cleaned_data) for f in forms]}
        if collection.name:
            data["name"] = collection.name
        if collection.label_field:
            data["label"] = collection.label_field
        try:
            save_collection(collection.organization, data, dry_run=True)
        except SchemaError as exc:
            raise ValidationError(exc.errors) from exc
        self.collection_data = data


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


class CollectionChangeList(ChangeList):
    """The collection list with each row's field and item counts from the same query
    (one aggregate each, not a query per row)."""

    def get_queryset(self, request, exclude_parameters=None):
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .annotate(listed_field_count=field_count(), listed_item_count=live_item_count())
        )


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "organization", "field_count", "item_count", "updated_at"]
    list_filter = ["organization"]
    search_fields = ["key", "name", "organization__slug"]
    inlines = [FieldInline]

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
            count = Item.objects.filter(collection=obj, deleted_at__isnull=True).count()
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


admin.site.register(Item, ItemAdmin)
