from django.db import models

from ghee.core.leases import LeaseStatus


class FieldType(models.TextChoices):
    SHORT_TEXT = "short_text", "Short text"
    LONG_TEXT = "long_text", "Long text"
    WYSIWYG = "wysiwyg", "WYSIWYG"
    HTML = "html", "HTML"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHECKBOX = "checkbox", "Checkbox"
    DROPDOWN = "dropdown", "Dropdown"
    COLOR = "color", "Color"
    MEDIA = "media", "Media"
    REFERENCE = "reference", "Reference"


class ItemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class JobKind(models.TextChoices):
    CREATE = "create", "Create items"
    REPLACE = "replace", "Replace item (PUT)"
    UPDATE = "update", "Update item (PATCH)"
    DELETE = "delete", "Delete item"


# A job's statuses are the lease machinery's: pending -> running -> succeeded | failed.
JobStatus = LeaseStatus
