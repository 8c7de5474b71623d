"""The dashboard's content pages: the schema editor (collections and their fields), the
content editor (items, per collection); the jobs' pages are in ``job_admin.py``.

The schema editor lives in ``editor/schema_admin.py``, the content editor in
``editor/admin.py`` (docs/dashboard-editor.md).
"""

from django.contrib import admin

from ghee.content import job_admin  # noqa: F401  (registers the jobs' admin)
from ghee.content.editor.admin import ItemAdmin
from ghee.content.editor.schema_admin import CollectionAdmin, FieldInline
from ghee.content.models import Collection, Item

__all__ = ["CollectionAdmin", "FieldInline", "ItemAdmin"]

admin.site.register(Collection, CollectionAdmin)
admin.site.register(Item, ItemAdmin)
