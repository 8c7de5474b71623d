"""Webhook endpoints, the deliveries owed to them, and every attempt to send one.

- ``Endpoint``: an organization's receiver: URL, the events it wants, custom headers, and
  its signing secret; the secret and the header values are encrypted at rest
  (``signing_secrets.py``: they must be replayed, so they cannot be hashed). During a
  rotation the previous secret signs too, until ``previous_secret_expires_at``.
- ``Delivery``: one event owed to one endpoint, a leased row (``ghee.core.leases``): the
  exact body to send (signed byte for byte on every attempt) and the ``message_id`` sent as
  ``webhook-id``, the same on every retry and on a re-send, so receivers can deduplicate.
- ``Attempt``: one HTTP try: when, the status, how long, an excerpt of the answer, the error.
"""

from django.db import models

from ghee.accounts.models import Organization
from ghee.core.leases import LeasedRow
from ghee.webhooks import choices, signing_secrets


class Endpoint(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField("URL", max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(
        default=list, help_text="Event names; collectionitem.all is every one."
    )
    # Custom headers sent with every delivery, {name: value}, encrypted like the secret:
    # their values are often credentials. Read and set them through ``headers``.
    headers_encrypted = models.TextField(blank=True, editable=False)
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField("active", default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Since when every attempt failed (none since succeeded); past
    # GHEE_WEBHOOK_DISABLE_AFTER_DAYS the endpoint is disabled.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    @property
    def headers(self) -> dict[str, str]:
        """The custom headers in clear (``SecretUnreadable`` if no key decrypts them)."""
        return signing_secrets.decrypt_headers(self.headers_encrypted)

    @headers.setter
    def headers(self, headers: dict[str, str]) -> None:
        self.headers_encrypted = signing_secrets.encrypt_headers(headers)

    def wants(self, event: str) -> bool:
        return event in self.events or choices.wildcard_of(event) in self.events


class Delivery(LeasedRow):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # Denormalised from the endpoint: the dashboard scopes rows by organization.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64, db_index=True)
    body = models.TextField(help_text="The exact JSON sent (and signed) on every attempt.")
    # The outbox event it came from: (event, endpoint) is unique, so a handler run twice
    # could not owe the same webhook twice. Null for test events and re-sends.
    outbox_event_id = models.BigIntegerField(null=True, blank=True)
    resent_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["outbox_event_id", "endpoint"], name="delivery_once_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["organization", "status", "id"], name="delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
