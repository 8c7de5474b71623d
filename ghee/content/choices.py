from django.db import models

from ghee.core.leases import LeaseStatus


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
