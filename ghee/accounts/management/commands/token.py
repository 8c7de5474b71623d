"""``ghee token create|list|revoke``: API tokens. A token's text is shown once, at creation."""

import sys

from django.core.management.base import CommandError
from django.utils import timezone

from ghee.accounts.authentication import token_cache
from ghee.accounts.choices import TokenKind
from ghee.accounts.management.base import organization_named
from ghee.accounts.models import ApiToken
from ghee.accounts.services import create_token, revoke_token
from ghee.core.management.base import GheeCommand


def _when(value) -> str:
    if value is None:
        return "-"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


class Command(GheeCommand):
    help = "Create, list and revoke API tokens."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create", help="Create a token and print it (alone) on standard output."
        )
        create.add_argument("--org", required=True, help="organization slug")
        create.add_argument(
            "--kind",
            required=True,
            choices=TokenKind.values,
            help="read: reads content (may ship in a browser); write: also writes (keep it secret)",
        )
        create.add_argument("--name", default="", help="what the token is for")
        listing = actions.add_parser("list", help="List an organization's tokens.")
        listing.add_argument("--org", required=True, help="organization slug")
        revoke = actions.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument(
            "prefix", help=f"the token's first {ApiToken.PREFIX_LENGTH} characters (or all of it)"
        )

    def handle(self, *args, action, **options):
        if action == "create":
            self.create(options["org"], options["kind"], options["name"])
        elif action == "list":
            self.list(options["org"])
        else:
            self.revoke(options["prefix"])

    def create(self, slug: str, kind: str, name: str) -> None:
        org = organization_named(slug)
        token, clear = create_token(org, kind, name)
        # stdout carries the token alone, so `TOKEN=$(ghee token create ...)` works.
        self.stdout.write(clear)
        sys.stderr.write(
            f"Created a {kind} token for {org.slug} (prefix {token.prefix}). "
            "It is shown only this once.\n"
        )

    def list(self, slug: str) -> None:
        org = organization_named(slug)
        rows = [("PREFIX", "KIND", "NAME", "CREATED", "LAST USED", "REVOKED")]
        for token in ApiToken.objects.filter(organization=org).order_by("created_at", "id"):
            rows.append(
                (
                    token.prefix,
                    token.kind,
                    token.name or "-",
                    _when(token.created_at),
                    _when(token.last_used_at),
                    _when(token.revoked_at),
                )
            )
        if len(rows) == 1:
            self.stdout.write(f"{org.slug} has no tokens: `ghee token create --org {org.slug}`.")
            return
        self.write_table(rows)

    def revoke(self, prefix: str) -> None:
        prefix = prefix.strip()
        if len(prefix) < ApiToken.PREFIX_LENGTH:
            raise CommandError(
                f"give the token's first {ApiToken.PREFIX_LENGTH} characters "
                "(as `ghee token list` shows them)"
            )
        token = (
            ApiToken.objects.select_related("organization")
            .filter(prefix=prefix[: ApiToken.PREFIX_LENGTH])
            .first()
        )
        if token is None:
            raise CommandError(f"no token with prefix {prefix[: ApiToken.PREFIX_LENGTH]!r}")
        if token.revoked_at is not None:
            self.stdout.write(f"Token {token.prefix} was already revoked.")
            return
        revoke_token(token)
        token_cache.clear()
        self.stdout.write(
            f"Revoked {token.kind} token {token.prefix} of {token.organization.slug}. "
            "Running servers stop accepting it within GHEE_TOKEN_CACHE_SECONDS."
        )
