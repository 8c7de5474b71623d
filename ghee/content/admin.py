"""The dashboard's content pages: the schema editor (collections and their fields), the
content editor (items, per collection) and a read-only view of jobs.

The schema editor lives in ``editor/schema_admin.py``, the content editor in
``editor/admin.py`` (docs/dashboard-editor.md).
"""

from django.contrib import admin

from ghee.content.editor.admin import ItemAdmin
from ghee.content.editor.schema_admin import CollectionAdmin, FieldInline
from ghee.content.models import Collection, Item, Job

__all__ = ["CollectionAdmin", "FieldInline", "ItemAdmin"]

admin.site.register(Collection, CollectionAdmin)
admin.site.register(Item, ItemAdmin)


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
