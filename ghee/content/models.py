"""Collections (user-defined schemas), their items, per-locale values, and write jobs.

Storage model
-------------
- ``Collection`` + ordered ``Field`` rows are the schema every write is validated against.
- ``Item`` is identity only: a global integer id, stable for the item's life, and a soft
  delete mark.
- ``ItemLocale`` holds an item's values in one locale (``""`` for organizations without
  locales): ``data`` is the latest written values (what ``preview=1`` shows), and
  ``published_data`` is the live snapshot (what everyone else sees), or null when the
  locale version was never published. A write with ``status: published`` sets both; a
  write with ``status: draft`` changes only ``data`` (ButterCMS's "draft over published").
  ``collection``, ``is_published`` and ``is_deleted`` are denormalised so a page of a
  collection is one indexed range scan with no join.
- ``ItemFieldIndex`` rows copy each filterable scalar (one row per value, per locale, for
  the draft and the published side) so ``fields.<key>=`` filters and ``order=`` use an
  index whatever the collection's size.
- ``Job`` is an accepted asynchronous write. The row, not the queue, is the source of
  truth (see ``ghee/content/write/jobs.py`` and ``ghee/core/leases.py``).
"""

from django.db import models
from django.db.models import Q

from ghee.accounts.models import ApiToken, Organization
from ghee.content.choices import ItemStatus, JobKind, JobStatus
from ghee.content.field_types import CHOICES as FIELD_TYPE_CHOICES
from ghee.core.leases import LeasedRow


class Collection(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="collections"
    )
    key = models.SlugField(max_length=100, help_text="The API key, e.g. team_members.")
    name = models.CharField(max_length=200)
    label_field = models.CharField(
        max_length=100, blank=True, help_text="Key of the field shown as the item's label."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "key"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="collection_key_unique")
        ]

    def __str__(self) -> str:
        return self.name or self.key


class Field(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=20, choices=FIELD_TYPE_CHOICES)
    order = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=False)
    min_length = models.PositiveIntegerField(null=True, blank=True)
    max_length = models.PositiveIntegerField(null=True, blank=True)
    pattern = models.CharField(
        max_length=500,
        blank=True,
        help_text="email, url, us_phone, us_zip, or regex:<expression>.",
    )
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    choices = models.JSONField(
        default=list, blank=True, help_text="Dropdown options: values, or {label, value} objects."
    )
    reference_to = models.CharField(
        max_length=100, blank=True, help_text="Key of the collection a reference points to."
    )
    many = models.BooleanField(default=False, help_text="A reference to many items.")
    default = models.JSONField(null=True, blank=True)
    help_text = models.CharField(max_length=500, blank=True)
    translatable = models.BooleanField(default=True)

    class Meta:
        ordering = ["collection", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "key"], name="field_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.type})"


class Item(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The job that created the item and the item's place in its request: running the job
    # twice can never create the item twice.
    job = models.ForeignKey(
        "Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job_index = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "job_index"], name="item_created_once_per_job")
        ]
        indexes = [
            # The dashboard's item list: a collection's live items, latest change first,
            # paged and counted without a sort or a table scan (ghee/content/editor/listing.py).
            # Partial, not (collection, deleted_at, ...): PostgreSQL does not treat
            # "deleted_at IS NULL" as fixing that column, so it would sort instead.
            models.Index(
                fields=["collection", "updated_at", "id"],
                condition=Q(deleted_at__isnull=True),
                name="item_editor_list",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.collection_id}/{self.pk}"


class ItemLocale(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="locales")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    locale = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=12, choices=ItemStatus.choices, default=ItemStatus.DRAFT)
    data = models.JSONField(default=dict)
    published_data = models.JSONField(null=True, blank=True)
    is_published = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "locale"], name="item_locale_unique")
        ]
        indexes = [
            models.Index(
                fields=["collection", "locale", "is_deleted", "is_published", "item"],
                name="itemlocale_page",
            ),
            # Preview reads (drafts included) page in id order without sorting.
            models.Index(
                fields=["collection", "locale", "is_deleted", "item"],
                name="itemlocale_preview",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.locale or '-'}"


class ItemFieldIndex(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    locale = models.CharField(max_length=32, blank=True)
    published = models.BooleanField(help_text="Copied from published_data (else from data).")
    field_key = models.CharField(max_length=100)
    # NULL (no value) sorts and filters differently from "" (an empty string).
    text_value = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    number_value = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["collection", "locale", "published", "field_key", "text_value", "item"],
                name="fieldindex_text",
            ),
            models.Index(
                fields=["collection", "locale", "published", "field_key", "number_value", "item"],
                name="fieldindex_number",
            ),
            models.Index(fields=["item", "locale", "published"], name="fieldindex_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}.{self.field_key}={self.text_value or self.number_value}"


class Job(LeasedRow):
    """An accepted write. Committed before the 202 goes out; processed by a worker.

    Status, attempts, lease and retry columns come from ``LeasedRow``: jobs are claimed,
    fenced, retried and finished by ``ghee.core.leases`` (see ``write/jobs.py``).
    """

    # No single-column indexes on organization or item (job_org_status and job_item_order
    # lead with them) and status's index is declared in Meta (on PostgreSQL db_index=True
    # adds a second, LIKE index no query uses): every index is one more B-tree insert on
    # the accept path (migration 0003).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="jobs", db_index=False
    )
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="jobs")
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs", db_index=False
    )
    kind = models.CharField(max_length=10, choices=JobKind.choices)
    # Who asked, as webhooks name them ("editor"): the write token's name, or the dashboard
    # user's full name. Kept on the job so a revoked or renamed token does not change it.
    editor = models.CharField(max_length=200, blank=True, default="")
    # The validated, normalised request: {"status": ..., "fields": [...] or {...}}.
    payload = models.JSONField(default=dict)
    # {"item_ids": [...]} once done.
    result = models.JSONField(default=dict, blank=True)
    # [{"index": n, "locale": ..., "field": ..., "message": ...}, ...]
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status__in=[JobStatus.PENDING, JobStatus.RUNNING]),
                name="job_open_lease",
            ),
            models.Index(fields=["organization", "status", "id"], name="job_org_status"),
            models.Index(fields=["item", "id"], name="job_item_order"),
            # SQLite's planner cannot match job_open_lease's condition to the claim query's
            # bound parameters; without this index a claim scans every finished job.
            models.Index(fields=["status"], name="job_status"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.kind}, {self.status})"


class IdempotencyKey(models.Model):
    """``Idempotency-Key`` header -> the first response, per token, for a limited time."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key
