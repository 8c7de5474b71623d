"""``ghee webhook add|list|remove|enable|disable|rotate|test|deliveries|resend``.

Endpoints and their delivery log, through the same services as the dashboard
(``ghee/webhooks/services.py``). A signing secret is printed once, by ``add`` and
``rotate``, alone on standard output so ``SECRET=$(ghee webhook add ...)`` works.
"""

import logging
import sys

from django.core.management.base import CommandError
from django.utils import timezone

from ghee.accounts.management.base import organization_named
from ghee.core.management.base import GheeCommand, quiet_loggers
from ghee.webhooks import sending, services
from ghee.webhooks.choices import DeliveryStatus, event_names
from ghee.webhooks.models import Delivery, Endpoint


def _when(value) -> str:
    if value is None:
        return "-"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


class Command(GheeCommand):
    help = "Manage webhook endpoints and their deliveries."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="Add an endpoint and print its signing secret.")
        add.add_argument("--org", required=True, help="organization slug")
        add.add_argument("url", help="where to POST the events (http or https)")
        add.add_argument(
            "--events",
            required=True,
            help=f"comma-separated, from: {', '.join(event_names())}",
        )
        add.add_argument(
            "--header",
            action="append",
            default=[],
            metavar='"NAME: VALUE"',
            help="a header to send with every delivery (repeatable)",
        )
        add.add_argument("--description", default="")
        listing = actions.add_parser("list", help="List an organization's endpoints.")
        listing.add_argument("--org", required=True, help="organization slug")
        for name, text in (
            ("remove", "Delete an endpoint and its delivery log."),
            ("enable", "Turn an endpoint on again (after a 410 or days of failures)."),
            ("disable", "Stop sending to an endpoint."),
            ("rotate", "Give an endpoint a new secret (printed); the old one signs for a while."),
            ("test", "Send a test event (collectionitem.test) now and show the answer."),
        ):
            action = actions.add_parser(name, help=text)
            action.add_argument("endpoint", type=int, help="the endpoint's id (see `list`)")
        rotate = actions.choices["rotate"]
        rotate.add_argument(
            "--grace-hours",
            type=float,
            default=None,
            help="hours the old secret still signs (default: GHEE_WEBHOOK_ROTATION_GRACE_HOURS)",
        )
        deliveries = actions.add_parser("deliveries", help="Show the delivery log.")
        deliveries.add_argument("--org", required=True, help="organization slug")
        deliveries.add_argument("--failed", action="store_true", help="only failed deliveries")
        deliveries.add_argument("--endpoint", type=int, default=None, help="one endpoint's only")
        deliveries.add_argument("--limit", type=int, default=50)
        resend = actions.add_parser(
            "resend", help="Queue a delivery again (same body, same webhook-id)."
        )
        resend.add_argument("delivery", type=int, help="the delivery's id (see `deliveries`)")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    # --- Endpoints -----------------------------------------------------------------------------

    def do_add(self, *, org, url, events, header, description, **_):
        organization = organization_named(org)
        headers = dict(services.parse_header(text) for text in header)
        endpoint, secret = services.create_endpoint(
            organization, url, events, headers=headers, description=description
        )
        self.stdout.write(secret)
        sys.stderr.write(
            f"Added webhook endpoint {endpoint.pk} for {organization.slug}: {endpoint.url} "
            f"({', '.join(endpoint.events)}). The secret above is shown only this once.\n"
        )

    def do_list(self, *, org, **_):
        organization = organization_named(org)
        rows = [("ID", "URL", "EVENTS", "ACTIVE", "HEADERS", "CREATED")]
        for endpoint in Endpoint.objects.filter(organization=organization):
            active = (
                "yes" if endpoint.is_active else f"no ({endpoint.disabled_reason or 'by hand'})"
            )
            rows.append(
                (
                    str(endpoint.pk),
                    endpoint.url,
                    ",".join(endpoint.events),
                    active,
                    ", ".join(endpoint.headers) or "-",
                    _when(endpoint.created_at),
                )
            )
        if len(rows) == 1:
            self.stdout.write(
                f"{organization.slug} has no webhook endpoints: "
                f"`ghee webhook add --org {organization.slug} URL --events collectionitem.all`."
            )
            return
        self.write_table(rows)

    def do_remove(self, *, endpoint, **_):
        found = self._endpoint(endpoint)
        services.remove_endpoint(found)
        self.stdout.write(f"Removed webhook endpoint {endpoint} ({found.url}).")

    def do_enable(self, *, endpoint, **_):
        services.update_endpoint(self._endpoint(endpoint), is_active=True)
        self.stdout.write(f"Webhook endpoint {endpoint} is active.")

    def do_disable(self, *, endpoint, **_):
        services.disable_endpoint(self._endpoint(endpoint).pk, "disabled by hand")
        self.stdout.write(f"Webhook endpoint {endpoint} is disabled.")

    def do_rotate(self, *, endpoint, grace_hours, **_):
        found = self._endpoint(endpoint)
        secret = services.rotate_secret(found, grace_hours)
        self.stdout.write(secret)
        found.refresh_from_db()
        until = found.previous_secret_expires_at
        sys.stderr.write(
            f"New secret for webhook endpoint {endpoint}, shown only this once. "
            + (
                f"The old one also signs until {_when(until)}.\n"
                if until
                else "The old one no longer signs.\n"
            )
        )

    def do_test(self, *, endpoint, **_):
        found = self._endpoint(endpoint)
        delivery = services.send_test_event(found, editor="ghee webhook test")
        # The sending and egress loggers tell a worker's operator what happened; here the
        # outcome is this command's own answer, said once.
        with quiet_loggers("ghee.webhooks", "ghee.core.egress", level=logging.ERROR):
            result, delivery = sending.deliver_now(delivery)
        if result == "queued":
            self.stdout.write(f"Queued test delivery {delivery.pk}; a worker will send it.")
            return
        attempt = delivery.attempt_log.last()
        answer = f"HTTP {attempt.status_code}" if attempt.status_code else "no answer"
        sent = f"test delivery {delivery.pk} to {found.url}, {attempt.latency_ms} ms"
        if attempt.response_excerpt:
            self.stdout.write(f"Response: {attempt.response_excerpt[:300]}")
        if not attempt.succeeded:
            raise CommandError(f"the test delivery failed: {attempt.error or answer} ({sent})")
        self.stdout.write(
            f"Test delivery {delivery.pk} to {found.url}: {answer} in {attempt.latency_ms} ms"
        )

    # --- Deliveries ------------------------------------------------------------------------------

    def do_deliveries(self, *, org, failed, endpoint, limit, **_):
        organization = organization_named(org)
        deliveries = Delivery.objects.filter(organization=organization).order_by("-id")
        if failed:
            deliveries = deliveries.filter(status=DeliveryStatus.FAILED)
        if endpoint is not None:
            deliveries = deliveries.filter(endpoint_id=endpoint)
        rows = [("ID", "EVENT", "ENDPOINT", "STATUS", "ATTEMPTS", "LAST", "NEXT TRY", "CREATED")]
        for delivery in deliveries[: max(limit, 1)]:
            last = delivery.last_error[:40] or str(delivery.last_status_code or "-")
            rows.append(
                (
                    str(delivery.pk),
                    delivery.event,
                    str(delivery.endpoint_id),
                    delivery.status,
                    str(delivery.attempts),
                    last,
                    _when(delivery.next_attempt_at) if delivery.status == "pending" else "-",
                    _when(delivery.created_at),
                )
            )
        if len(rows) == 1:
            self.stdout.write(
                f"No {'failed ' if failed else ''}deliveries for {organization.slug}."
            )
            return
        self.write_table(rows)

    def do_resend(self, *, delivery, **_):
        try:
            original = Delivery.objects.select_related("endpoint").get(pk=delivery)
        except Delivery.DoesNotExist:
            raise CommandError(f"no delivery {delivery} (see `ghee webhook deliveries`)") from None
        copy = services.resend_delivery(original)
        self.stdout.write(
            f"Queued delivery {copy.pk}: {original.event} to {original.endpoint.url} again "
            f"(webhook-id {copy.message_id})."
        )

    def _endpoint(self, pk: int) -> Endpoint:
        try:
            return Endpoint.objects.get(pk=pk)
        except Endpoint.DoesNotExist:
            raise CommandError(f"no webhook endpoint {pk} (see `ghee webhook list`)") from None
