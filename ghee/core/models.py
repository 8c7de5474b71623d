"""Core's own rows: the outbox of events and the housekeeping chores' schedule.

Both are plumbing with no business rules: an event is a topic, a name and a JSON body
(``ghee.core.outbox``); a chore row only says when a named chore last ran and who runs it
now (``ghee.core.chores``). Core imports no app: an event names its organization by id.
"""

from django.db import models
from django.db.models import Q

from ghee.core.leases import OPEN_STATUSES, LeasedRow


class OutboxEvent(LeasedRow):
    """Something that happened, written in the same transaction as the change itself.

    Handlers registered for the ``topic`` (``ghee.core.outbox.register_handler``) are
    handed the event by a worker, through the lease machinery; with no handler for its
    topic an event is written as already handled.
    """

    topic = models.CharField(max_length=50)
    name = models.CharField(max_length=100)
    organization_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    # The last failed attempt's error ("ExceptionClass: message"), for the operator.
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="outbox_open",
            ),
            models.Index(fields=["status"], name="outbox_status"),
            models.Index(fields=["finished_at"], name="outbox_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.status})"


class ChoreRun(models.Model):
    """One row per named chore: when it is due next, and which worker holds it now."""

    name = models.CharField(max_length=100, unique=True)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # What the last run did: {"deleted": 12} and the like, or {"error": "..."}.
    last_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
