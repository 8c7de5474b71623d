"""The deliveries' lease queue: retries on the webhook schedule, a cap per endpoint, and
deliveries of a disabled endpoint withdrawn in bulk.

Its own module so that sending (``sending.py``) and the services that disable an endpoint
(``services.py``) share it without importing each other.

- **Per endpoint**: a claim takes at most ``GHEE_WEBHOOK_PER_ENDPOINT`` deliveries per
  endpoint, counting those already held by any worker, oldest first, skipping endpoints at
  their cap: a dead endpoint's backlog never fills a claim while another endpoint has
  deliveries due.
- **Disabled endpoints**: their open deliveries that nobody holds (test events aside: a
  test says how the endpoint answers, enabled or not) fail in one statement, unsent and
  uncharged, when the endpoint is disabled (``withdraw_deliveries``) and again in any claim
  that finds due rows (an endpoint switched off in the dashboard or by a script). They
  never take a claim slot from a live endpoint.
"""

import random

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf

from ghee.core.leases import LeaseQueue
from ghee.webhooks.choices import TEST_EVENT
from ghee.webhooks.models import Delivery, Endpoint


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` tries: the schedule, with jitter."""
    schedule = settings.GHEE_WEBHOOK_RETRY_SCHEDULE or [5.0]
    base = schedule[min(max(attempts, 1), len(schedule)) - 1]
    jitter = settings.GHEE_WEBHOOK_RETRY_JITTER
    return base * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - not a secret


def _withdrawn() -> tuple[Q, dict] | None:
    """Deliveries of disabled endpoints (not test events), and what their failure says.

    The endpoints are looked up first (a small table): with none disabled the claim runs no
    statement, and with some the statement finds their rows by the endpoint index rather
    than through every open delivery.
    """
    disabled = list(Endpoint.objects.filter(is_active=False).values_list("pk", flat=True))
    if not disabled:
        return None
    rows = Q(endpoint_id__in=disabled) & ~Q(event=TEST_EVENT)
    why = Endpoint.objects.filter(pk=OuterRef("endpoint_id")).values("disabled_reason")[:1]
    reason = Coalesce(NullIf(Subquery(why), Value("")), Value("disabled by hand"))
    return rows, {
        "last_error": Concat(Value("Not sent: the endpoint is disabled ("), reason, Value(")."))
    }


DELIVERY_LEASES = LeaseQueue(
    Delivery,
    name="webhook",
    lease_seconds=lambda: settings.GHEE_WEBHOOK_LEASE_SECONDS,
    # The first try, then one per step of the schedule.
    max_attempts=lambda: len(settings.GHEE_WEBHOOK_RETRY_SCHEDULE) + 1,
    backoff=retry_delay,
    error_fields=lambda message: {"last_error": message},
    group_by="endpoint_id",
    per_group=lambda: settings.GHEE_WEBHOOK_PER_ENDPOINT,
    withdrawn=_withdrawn,
)


def withdraw_deliveries(endpoint_ids: list[int] | None = None) -> int:
    """Fail the unsent deliveries of disabled endpoints now, in one statement."""
    where = None if endpoint_ids is None else Q(endpoint_id__in=endpoint_ids)
    return DELIVERY_LEASES.withdraw(where)
