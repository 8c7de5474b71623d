"""``ghee media import URL --org SLUG [--alt TEXT]`` and ``ghee media list --org SLUG``.

``--json`` prints assets in the shape ``POST``/``GET /v2/media/`` answer (the list: the
API's ``data``, every asset, newest first).
"""

import json

from django.core.management.base import CommandError
from django.template.defaultfilters import filesizeformat

from ghee.accounts.management.base import organization_named
from ghee.core.management.base import GheeCommand, quiet_loggers
from ghee.media.models import MediaAsset
from ghee.media.presenting import asset_json
from ghee.media.services import MediaImportError, add_from_url


class Command(GheeCommand):
    help = "Import files into an organization's media library and list them."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        imports = actions.add_parser(
            "import", help="Download a URL into the library (the same checks as the API)."
        )
        imports.add_argument("url", help="an http or https URL")
        imports.add_argument("--org", required=True, help="organization slug")
        imports.add_argument("--alt", default="", help="alt text (fills an empty one)")
        imports.add_argument("--json", action="store_true", help="print the asset as the API does")
        listing = actions.add_parser("list", help="List an organization's assets, newest first.")
        listing.add_argument("--org", required=True, help="organization slug")
        listing.add_argument(
            "--json", action="store_true", help="print the assets as GET /v2/media/ does"
        )

    def handle(self, *args, action, **options):
        organization = organization_named(options["org"])
        if action == "list":
            return self.list(organization, as_json=options["json"])
        # The command says what happened itself; the egress and media logs (a refusal is a
        # warning there, for workers) would repeat it. -v 2 shows them.
        noisy = ("ghee.core.egress", "ghee.media") if options["verbosity"] < 2 else ()
        with quiet_loggers(*noisy):
            self.import_url(organization, options["url"], options["alt"], options["json"])

    def import_url(self, organization, url: str, alt: str, as_json: bool) -> None:
        try:
            asset, created = add_from_url(organization.id, url, alt=alt)
        except MediaImportError as exc:
            raise CommandError(f"{url}: {exc}") from exc
        if as_json:
            self.stdout.write(json.dumps(asset_json(asset), indent=2))
            return
        state = "Imported" if created else "Already in the library"
        self.stdout.write(
            f"{state}: {asset.url} ({asset.content_type}, {filesizeformat(asset.size)})"
        )

    def list(self, organization, as_json: bool) -> None:
        assets = MediaAsset.objects.filter(organization=organization).order_by("-created_at", "-id")
        if as_json:
            self.stdout.write(json.dumps([asset_json(asset) for asset in assets], indent=2))
            return
        rows = [("ID", "URL", "TYPE", "SIZE", "PIXELS", "ALT", "CREATED")]
        for asset in assets:
            rows.append(
                (
                    str(asset.id),
                    asset.url,
                    asset.content_type,
                    str(asset.size),
                    f"{asset.width}x{asset.height}" if asset.is_image else "-",
                    asset.alt_text or "-",
                    asset.created_at.strftime("%Y-%m-%d %H:%M"),
                )
            )
        if len(rows) == 1:
            slug = organization.slug
            self.stdout.write(f"No media in {slug} yet: `ghee media import URL --org {slug}`.")
            return
        self.write_table(rows)
