"""``ghee schema apply FILE --org SLUG [--prune] [--dry-run]`` and
``ghee schema export --org SLUG [--format yaml|json]``."""

import sys
from pathlib import Path

from django.core.management.base import CommandError

from ghee.accounts.management.base import organization_named
from ghee.content.schema.document import SchemaError, dump_data, load_text
from ghee.content.schema.services import apply_schema, export_schema
from ghee.core.management.base import GheeCommand


class Command(GheeCommand):
    help = "Apply a schema file (YAML or JSON) to an organization, or export its schema."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        apply = actions.add_parser(
            "apply", help="Make the organization's collections match FILE (idempotent)."
        )
        apply.add_argument("file", help="a .yaml/.yml/.json schema file, or - for stdin")
        apply.add_argument("--org", required=True, help="organization slug")
        apply.add_argument(
            "--prune",
            action="store_true",
            help="delete fields and collections (with their items) that are not in FILE",
        )
        apply.add_argument(
            "--dry-run", action="store_true", help="say what would change; change nothing"
        )
        export = actions.add_parser("export", help="Print the organization's schema.")
        export.add_argument("--org", required=True, help="organization slug")
        export.add_argument("--format", choices=("yaml", "json"), default="yaml")

    def handle(self, *args, action, **options):
        org = organization_named(options["org"])
        if action == "export":
            self.stdout.write(dump_data(export_schema(org), options["format"]), ending="")
            return
        name, text = self.read(options["file"])
        try:
            result = apply_schema(
                org, load_text(text, name), prune=options["prune"], dry_run=options["dry_run"]
            )
        except SchemaError as exc:
            count = len(exc.errors)
            problems = "a problem" if count == 1 else f"{count} problems"
            raise CommandError("\n".join([f"{name} has {problems}:", *exc.errors])) from exc
        for line in result.changes:
            self.stdout.write(line)
        for line in result.notes:
            self.stdout.write(f"  ({line})")
        if not result.changed:
            self.stdout.write(f"No changes: {org.slug} already matches {name}.")
        elif options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
        else:
            self.stdout.write(f"Applied {name} to {org.slug}.")

    @staticmethod
    def read(path: str) -> tuple[str, str]:
        if path == "-":
            return "stdin", sys.stdin.read()
        try:
            return path, Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
