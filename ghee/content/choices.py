from django.db import models


class ItemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class JobKind(models.TextChoices):
    CREATE = "create", "Create items"
    REPLACE = "replace", "Replace item (PUT)"
    UPDATE = "update", "Update item (PATCH)"
    DELETE = "delete", "Delete item"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


TERMINAL_JOB_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED)
