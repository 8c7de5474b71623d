"""``ghee org create SLUG [--name NAME] [--locales en,es]`` and ``ghee org list``."""

from django.core.management.base import CommandError
from django.db.models import Count, Q

from ghee.accounts.models import Organization
from ghee.accounts.services import create_organization
from ghee.core.management.base import GheeCommand


def parse_locales(value: str) -> list[str]:
    codes = [code.strip() for code in value.split(",") if code.strip()]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise CommandError(f"--locales lists {', '.join(duplicates)} more than once")
    return codes


class Command(GheeCommand):
    help = "Create and list organizations."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Create an organization.")
        create.add_argument("slug", help="URL-safe identifier, e.g. acme")
        create.add_argument("--name", default="", help="display name (default: the slug)")
        create.add_argument(
            "--locales",
            default="",
            help="comma-separated locale codes; the first is the default (e.g. en,es). "
            "Without locales field data is flat.",
        )
        actions.add_parser("list", help="List organizations.")

    def handle(self, *args, action, **options):
        if action == "create":
            self.create(options["slug"], options["name"], parse_locales(options["locales"]))
        else:
            self.list()

    def create(self, slug: str, name: str, locales: list[str]) -> None:
        if Organization.objects.filter(slug=slug).exists():
            raise CommandError(f"organization {slug!r} already exists")
        org = create_organization(slug, name, locales)
        if locales:
            shape = f"locales {', '.join(locales)}; default {locales[0]}"
        else:
            shape = "no locales: field data is flat"
        self.stdout.write(f"Created organization {org.slug} ({org.name}; {shape}).")

    def list(self) -> None:
        orgs = Organization.objects.prefetch_related("locales").annotate(
            collection_count=Count("collections", distinct=True),
            token_count=Count("tokens", filter=Q(tokens__revoked_at__isnull=True), distinct=True),
        )
        rows = [("SLUG", "NAME", "LOCALES", "COLLECTIONS", "ACTIVE TOKENS")]
        for org in orgs:
            locales = [f"{loc.code}*" if loc.is_default else loc.code for loc in org.locales.all()]
            rows.append(
                (
                    org.slug,
                    org.name,
                    ",".join(locales) or "-",
                    str(org.collection_count),
                    str(org.token_count),
                )
            )
        if len(rows) == 1:
            self.stdout.write("No organizations yet: `ghee org create SLUG`.")
            return
        self.write_table(rows)
