"""What can be done to webhook endpoints and deliveries: the CLI and the dashboard call these.

Each function owns its transaction. Nothing here sends HTTP: deliveries are rows that a
worker sends (``sending.py``), so an endpoint that never answers cannot hold up a command,
a page, or a write.
"""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ghee.accounts.models import Organization
from ghee.core import chores, egress, outbox
from ghee.core.leases import LeaseStatus
from ghee.core.models import OutboxEvent
from ghee.webhooks import payloads, signing_secrets
from ghee.webhooks.choices import TEST_EVENT, event_names
from ghee.webhooks.delivery_leases import DELIVERY_LEASES, withdraw_deliveries
from ghee.webhooks.models import Delivery, Endpoint

# Headers ghee sets itself; an endpoint's custom headers may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "transfer-encoding",
        "connection",
        "accept-encoding",
    }
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Custom headers are sent with every delivery and kept encrypted: a receiver's token fits
# easily; a megabyte "header" does not belong in every request (nor in the database).
MAX_HEADERS = 20
MAX_HEADER_VALUE_BYTES = 4096


def register() -> None:
    """Called by ``WebhooksConfig.ready``: the outbox handler and the chores."""
    # Every topic whose events endpoints can subscribe to (the content app declares them).
    outbox.register_handler(
        outbox.ANY_DECLARED_TOPIC, create_deliveries, listening=organizations_listening
    )
    chores.register(chores.Chore("prune_webhook_deliveries", prune_deliveries, every=3600))
    chores.register(chores.release_stale_leases(DELIVERY_LEASES))


# --- Validation ------------------------------------------------------------------------------


def clean_url(url: str) -> str:
    """An http(s) URL the egress client would send to.

    The host is resolved and checked by the egress policy now, as every send checks it
    again: a name that leads only to refused addresses (``localhost``, an intranet name) is
    refused here, not at its first delivery. A name that does not resolve (yet) is accepted:
    DNS may change before the first event, and each send checks it anyway.
    """
    url = (url or "").strip()
    try:
        egress.Target(url).addresses()
    except egress.ConnectionFailed:
        pass
    except egress.EgressError as exc:
        raise ValidationError({"url": str(exc)}) from None
    return url


def clean_events(events) -> list[str]:
    if isinstance(events, str):
        events = [e for e in (part.strip() for part in events.split(",")) if e]
    events = list(dict.fromkeys(events or []))
    known = event_names()
    unknown = [e for e in events if e not in known]
    if not events or unknown:
        raise ValidationError(
            {
                "events": f"unknown event {unknown[0]!r}; "
                if unknown
                else f"no events given; choose from {', '.join(known)}"
            }
        )
    return events


def clean_headers(headers: dict[str, str]) -> dict[str, str]:
    headers = headers or {}
    if len(headers) > MAX_HEADERS:
        count = len(headers)
        raise ValidationError(
            {"headers": f"{count} custom headers; an endpoint may have at most {MAX_HEADERS}"}
        )
    cleaned = {}
    for name, value in headers.items():
        name, value = str(name).strip(), str(value).strip()
        if not _HEADER_NAME.match(name[:101]):
            raise ValidationError({"headers": f"{name[:100]!r} is not a valid header name"})
        size = len(value.encode())
        if size > MAX_HEADER_VALUE_BYTES:
            raise ValidationError(
                {
                    "headers": f"the value of {name} is {size} bytes; "
                    f"at most {MAX_HEADER_VALUE_BYTES} are allowed"
                }
            )
        if name.lower() in RESERVED_HEADERS:
            raise ValidationError({"headers": f"{name} is set by ghee and cannot be replaced"})
        if any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in value):
            raise ValidationError({"headers": f"the value of {name} has a control character"})
        cleaned[name] = value
    return cleaned


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` (as curl takes it) -> ``("Name", "value")``."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        shown = text if len(text) <= 60 else text[:60] + "…"
        raise ValidationError({"headers": f'{shown!r} is not of the form "Name: value"'})
    return name.strip(), value.strip()


# --- Endpoints -------------------------------------------------------------------------------


@transaction.atomic
def create_endpoint(
    organization: Organization,
    url: str,
    events,
    headers: dict[str, str] | None = None,
    description: str = "",
) -> tuple[Endpoint, str]:
    """A new active endpoint and its ``whsec_`` secret, in clear for the only time."""
    secret = signing_secrets.generate()
    endpoint = Endpoint.objects.create(
        organization=organization,
        url=clean_url(url),
        events=clean_events(events),
        headers=clean_headers(headers or {}),
        description=description,
        secret_encrypted=signing_secrets.encrypt(secret),
    )
    return endpoint, secret


@transaction.atomic
def update_endpoint(endpoint: Endpoint, **changes) -> Endpoint:
    """Change url, events, headers, description or is_active (re-enabling clears why)."""
    cleaners = {"url": clean_url, "events": clean_events, "headers": clean_headers}
    was_active = endpoint.is_active
    for name, value in changes.items():
        if name not in {"url", "events", "headers", "description", "is_active"}:
            raise ValueError(f"cannot change {name}")
        setattr(endpoint, name, cleaners[name](value) if name in cleaners else value)
    if endpoint.is_active and not was_active:  # a fresh start: the failure clock restarts
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
    endpoint.save()
    return endpoint


@transaction.atomic
def rotate_secret(endpoint: Endpoint, grace_hours: float | None = None) -> str:
    """A new secret; the old one keeps signing too for ``grace_hours`` (a setting).

    Receivers accept a message when any of its signatures matches, so during the grace
    period they can switch to the new secret at their own pace.
    """
    grace = settings.GHEE_WEBHOOK_ROTATION_GRACE_HOURS if grace_hours is None else grace_hours
    secret = signing_secrets.generate()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if grace > 0 else ""
    endpoint.previous_secret_expires_at = (
        timezone.now() + timedelta(hours=grace) if grace > 0 else None
    )
    endpoint.secret_encrypted = signing_secrets.encrypt(secret)
    endpoint.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    return secret


def signing_keys(endpoint: Endpoint, now=None) -> list[str]:
    """The secrets that sign right now: the current one, and the previous during its grace."""
    keys = [signing_secrets.decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and expires > (now or timezone.now()):
        keys.append(signing_secrets.decrypt(endpoint.previous_secret_encrypted))
    return keys


@transaction.atomic
def remove_endpoint(endpoint: Endpoint) -> None:
    """Delete the endpoint with its deliveries and their attempts."""
    endpoint.delete()


def disable_endpoint(endpoint_id: int, reason: str) -> bool:
    """Stop sending to an endpoint (410 Gone, or failing for days). Returns True if it was on.

    Its unsent deliveries fail at once, in one statement (those a worker is sending are
    recorded as usual); `ghee webhook resend` sends one again once the endpoint is enabled.
    """
    disabled = Endpoint.objects.filter(pk=endpoint_id, is_active=True).update(
        is_active=False, disabled_reason=reason[:300], updated_at=timezone.now()
    )
    withdraw_deliveries([endpoint_id])
    return bool(disabled)


# --- Deliveries ------------------------------------------------------------------------------


def new_message_id() -> str:
    """A ``webhook-id``: random, and free of ``.`` as the spec requires."""
    return "msg_" + secrets.token_urlsafe(18).replace("-", "A").replace("_", "B")


def organizations_listening(organization_ids: set[int | None]) -> set[int | None]:
    """The organizations among these with an active endpoint: only their events wait for
    the relay (one query per recorded batch, in the write's transaction)."""
    return set(
        Endpoint.objects.filter(organization_id__in=organization_ids, is_active=True)
        .values_list("organization_id", flat=True)
        .distinct()
    )


def create_deliveries(event: OutboxEvent) -> None:
    """Outbox handler: one pending delivery per active endpoint that wants the event.

    Runs inside the relay's transaction (a savepoint of it), so the deliveries exist exactly
    once or not at all; no HTTP here, the worker sends them later.
    """
    endpoints = Endpoint.objects.filter(organization_id=event.organization_id, is_active=True)
    rows = [
        Delivery(
            endpoint=endpoint,
            organization_id=event.organization_id,
            event=event.name,
            message_id=new_message_id(),
            body=payloads.item_event_body(event.name, event.data, endpoint.url),
            outbox_event_id=event.pk,
        )
        for endpoint in endpoints
        if endpoint.wants(event.name)
    ]
    Delivery.objects.bulk_create(rows)


@transaction.atomic
def send_test_event(endpoint: Endpoint, editor: str = "ghee") -> Delivery:
    """Queue a ``collectionitem.test`` delivery to the endpoint (active or not)."""
    return Delivery.objects.create(
        endpoint=endpoint,
        organization_id=endpoint.organization_id,
        event=TEST_EVENT,
        message_id=new_message_id(),
        body=payloads.test_event_body(endpoint.url, editor),
    )


@transaction.atomic
def resend_delivery(delivery: Delivery) -> Delivery:
    """Queue the same message again: same body, same ``webhook-id`` (receivers dedupe on it).

    A new row, because a finished delivery never changes status again (the lease rule);
    its attempts start from zero.
    """
    endpoint = delivery.endpoint
    if not endpoint.is_active and delivery.event != TEST_EVENT:
        raise ValidationError(
            f"endpoint {endpoint.pk} is disabled ({endpoint.disabled_reason or 'by hand'}): "
            f"enable it first (`ghee webhook enable {endpoint.pk}`)"
        )
    return Delivery.objects.create(
        endpoint=endpoint,
        organization_id=delivery.organization_id,
        event=delivery.event,
        message_id=delivery.message_id,
        body=delivery.body,
        resent_from=delivery,
    )


def prune_deliveries() -> dict[str, int]:
    """Chore: delete deliveries finished more than ``GHEE_WEBHOOK_RETENTION_DAYS`` ago."""
    cutoff = timezone.now() - timedelta(days=settings.GHEE_WEBHOOK_RETENTION_DAYS)
    _, deleted = Delivery.objects.filter(
        status__in=[LeaseStatus.SUCCEEDED, LeaseStatus.FAILED], finished_at__lt=cutoff
    ).delete()  # their attempts go with them (cascade)
    return {"deleted": deleted.get(Delivery._meta.label, 0)}
