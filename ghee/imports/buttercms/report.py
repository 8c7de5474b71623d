"""What an import did: counts per collection, media, warnings, and every failure with the
item, locale and field it belongs to (``--report FILE`` writes it as JSON)."""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

OUTCOMES = ("created", "updated", "unchanged", "deleted", "failed")
MAX_LISTED = 10_000  # failures and warnings kept in full; past that, only counted


@dataclass
class Report:
    source: str
    organization: str
    dry_run: bool = False
    collections: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    media: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    schema_changes: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    dropped: int = 0  # failures and warnings past MAX_LISTED
    _failed_items: set = field(default_factory=set)

    def count(self, collection: str, outcome: str, n: int = 1) -> None:
        self.collections[collection][outcome] += n

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append(message)
        else:
            self.dropped += 1

    def fail(self, item, locale, field_key, message: str) -> None:
        """One failure of ``item``; the item counts once as failed however many it has."""
        entry = {
            "collection": item.collection,
            "source_id": item.source_id,
            "locale": locale or None,
            "field": field_key,
            "message": message,
        }
        if (item.collection, item.source_id) not in self._failed_items:
            self._failed_items.add((item.collection, item.source_id))
            self.count(item.collection, "failed")
        if len(self.failures) < MAX_LISTED:
            self.failures.append(entry)
        else:
            self.dropped += 1

    def fail_invalid(self, item, detail) -> None:
        """A validation error body (``{locale: {field: [messages]}}`` or ``{field: [...]}``)."""
        for path, message in _flatten(detail):
            locale = path[0] if len(path) > 1 else None
            self.fail(item, locale, path[-1] if path else None, message)

    def fail_job(self, item, errors: list[dict]) -> None:
        for error in errors or [{"message": "the job failed"}]:
            self.fail(item, error.get("locale"), error.get("field"), error["message"])

    @property
    def failed(self) -> int:
        return sum(counts["failed"] for counts in self.collections.values())

    def as_json(self) -> dict:
        return {
            "source": self.source,
            "organization": self.organization,
            "dry_run": self.dry_run,
            "collections": {
                key: {outcome: counts[outcome] for outcome in OUTCOMES}
                for key, counts in self.collections.items()
            },
            "media": {"downloaded": 0, "reused": 0, "failed": 0, **self.media},
            "schema_changes": self.schema_changes,
            "warnings": self.warnings,
            "failures": self.failures,
            "not_listed": self.dropped,
            "requests": self.requests,
            "retries": self.retries,
        }

    def dumps(self) -> str:
        return json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n"


def _flatten(detail, path=()):
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _flatten(value, (*path, str(key)))
    elif isinstance(detail, list):
        for message in detail:
            if isinstance(message, str):
                yield path, message
            else:
                yield from _flatten(message, path)
    else:
        yield path, str(detail)
