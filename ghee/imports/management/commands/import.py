"""``ghee import buttercms --org SLUG --keys a,b [...]``: move content in from ButterCMS.

The read token comes from ``--token-stdin``, the ``GHEE_BUTTERCMS_READ_TOKEN`` environment
variable, or ``--token`` (visible to other users in the process list: the last resort); it
is never printed. docs/migrate-from-buttercms.md walks through a migration.
"""

import os
import sys
from pathlib import Path

from django.core.management.base import CommandError

from ghee.accounts.management.base import organization_named
from ghee.content.schema.document import SchemaError, load_text
from ghee.core.management.base import GheeCommand
from ghee.imports.buttercms.importer import ImportFailed, ImportOptions, run_import
from ghee.imports.buttercms.report import OUTCOMES, Report
from ghee.imports.buttercms.source import DEFAULT_SOURCE, ButterSource, SourceError

TOKEN_VARIABLE = "GHEE_BUTTERCMS_READ_TOKEN"  # noqa: S105 - a variable name, not a token
MAX_LISTED_FAILURES = 50


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class Command(GheeCommand):
    help = "Import content from another system (ButterCMS) through ghee's write services."

    def add_arguments(self, parser):
        systems = parser.add_subparsers(dest="system", required=True, metavar="SYSTEM")
        butter = systems.add_parser(
            "buttercms",
            help="Import collections from ButterCMS (or any server speaking its Read API).",
        )
        butter.add_argument("--org", required=True, help="the ghee organization to import into")
        butter.add_argument("--keys", required=True, help="collection keys, comma-separated")
        butter.add_argument("--locales", default="", help="locale codes, comma-separated")
        butter.add_argument(
            "--source", default=DEFAULT_SOURCE, help=f"base URL (default {DEFAULT_SOURCE})"
        )
        tokens = butter.add_mutually_exclusive_group()
        tokens.add_argument(
            "--token-stdin", action="store_true", help="read the read token from stdin"
        )
        tokens.add_argument(
            "--token", help=f"the read token (prefer {TOKEN_VARIABLE} or --token-stdin)"
        )
        butter.add_argument(
            "--schema", help="import with this (edited) schema file instead of inferring one"
        )
        butter.add_argument("--schema-out", help="write the inferred schema to this file and stop")
        butter.add_argument(
            "--follow-references",
            action="store_true",
            help="also import collections that references name but --keys does not",
        )
        butter.add_argument(
            "--delete-missing",
            action="store_true",
            help="delete imported items the source no longer has",
        )
        butter.add_argument(
            "--dry-run", action="store_true", help="say what would change; change nothing"
        )
        butter.add_argument(
            "--no-webhooks", action="store_true", help="send no webhooks for the import's writes"
        )
        butter.add_argument("--report", help="write the summary as JSON to this file")
        butter.add_argument(
            "--media-host",
            action="append",
            default=[],
            help="a host whose URLs are media (repeatable)",
        )
        butter.add_argument(
            "--concurrency", type=int, default=4, help="requests at once (default 4)"
        )
        butter.add_argument(
            "--max-wait",
            type=float,
            default=120.0,
            help="longest Retry-After to wait for, in seconds",
        )
        butter.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, system, **options):
        org = organization_named(options["org"])
        token = self._token(options)
        schema = self._schema(options["schema"]) if options["schema"] else None
        try:
            source = ButterSource(
                options["source"],
                token,
                concurrency=options["concurrency"],
                max_wait=options["max_wait"],
            )
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        import_options = ImportOptions(
            organization=org,
            source=source,
            keys=_csv(options["keys"]),
            locales=_csv(options["locales"]),
            schema=schema,
            schema_out=Path(options["schema_out"]) if options["schema_out"] else None,
            follow_references=options["follow_references"],
            delete_missing=options["delete_missing"],
            dry_run=options["dry_run"],
            webhooks=not options["no_webhooks"],
            media_hosts=frozenset(options["media_host"]),
        )
        if not import_options.keys:
            raise CommandError("--keys names no collection")
        progress = None if options["no_progress"] else _progress(sys.stderr)
        try:
            report = run_import(import_options, progress, say=self.stdout.write)
        except (ImportFailed, SourceError) as exc:
            raise CommandError(str(exc)) from exc
        if import_options.schema_out is not None:
            self.stdout.write(
                f"Wrote the inferred schema to {import_options.schema_out}. Review it, then "
                f"import with --schema {import_options.schema_out}."
            )
        self._summary(report)
        if options["report"]:
            Path(options["report"]).write_text(report.dumps(), encoding="utf-8")
        if report.failed:
            raise CommandError(
                f"{report.failed} items failed (listed above"
                + (f" and in {options['report']}" if options["report"] else "")
                + "); run the import again once fixed"
            )

    def _token(self, options) -> str:
        if options["token_stdin"]:
            token = sys.stdin.readline().strip()
        else:
            token = options["token"] or os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise CommandError(
                f"no read token: give --token-stdin, set {TOKEN_VARIABLE}, or --token"
            )
        return token

    def _schema(self, path: str) -> dict:
        try:
            text = Path(path).read_text(encoding="utf-8")
            data = load_text(text, path)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        except SchemaError as exc:
            raise CommandError("\n".join([f"{path}:", *exc.errors])) from exc
        if not isinstance(data, dict):
            raise CommandError(f"{path}: not a schema document")
        return data

    def _summary(self, report: Report) -> None:
        write = self.stdout.write
        for line in report.schema_changes:
            write(f"schema: {line}")
        if report.collections:
            rows = [("collection", *OUTCOMES)]
            for key, counts in report.collections.items():
                rows.append((key, *(str(counts[o]) for o in OUTCOMES)))
            self.write_table(rows)
        media = ", ".join(f"{n} {what}" for what, n in sorted(report.media.items())) or "none"
        write(f"media: {media}")
        write(f"source: {report.requests} requests, {report.retries} retried")
        for warning in report.warnings:
            write(f"warning: {warning}")
        for failure in report.failures[:MAX_LISTED_FAILURES]:
            where = " ".join(
                part
                for part in (
                    f"{failure['collection']} {failure['source_id']}",
                    failure["locale"] and f"locale {failure['locale']}",
                    failure["field"] and f"field {failure['field']}",
                )
                if part
            )
            write(f"failed: {where}: {failure['message']}")
        if len(report.failures) > MAX_LISTED_FAILURES:
            write(
                f"... and {len(report.failures) - MAX_LISTED_FAILURES} more failures "
                "(--report FILE lists all)"
            )
        if report.dry_run:
            write("Dry run: nothing was changed.")


def _progress(stream):
    """rich progress bars, one per collection, on a terminal only."""
    if not getattr(stream, "isatty", lambda: False)():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    class RichProgress:
        def __init__(self) -> None:
            self.bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(file=stream),
                transient=False,
            )
            self.tasks: dict = {}
            self.bars.start()

        def start(self, collection: str, total: int | None) -> None:
            if collection not in self.tasks:
                self.tasks[collection] = self.bars.add_task(collection, total=total)
            elif total is not None:
                self.bars.update(self.tasks[collection], total=total)

        def advance(self, collection: str, n: int = 1) -> None:
            self.bars.advance(self.tasks[collection], n)

        def stop(self) -> None:
            self.bars.stop()

    return RichProgress()
