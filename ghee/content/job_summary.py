"""What a job asked for and what went wrong, in an editor's words (the dashboard's job page).

A job stores its request as the validated payload (``{"status", "fields"}``, values by
locale) and its errors as ``{"index", "locale", "field", "message"}`` records. Editors
should not read either as JSON: these functions turn them into rows of plain text —
which item, which locale, which field (by its name in the schema), and a short value.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Case, ExpressionWrapper, Q, QuerySet, Value, When

from ghee.content.choices import ItemStatus, JobKind
from ghee.content.models import Field, Job

MAX_ITEMS_SHOWN = 20
MAX_VALUE_CHARS = 80
MAX_LIST_VALUES = 5


@dataclass(frozen=True)
class ValueRow:
    item: str  # "item 1 (new)", "item #42"
    locale: str  # "en", or "" when the organization has no locales
    fields: list[tuple[str, str]]  # (field name, summarised value)


@dataclass(frozen=True)
class ErrorRow:
    item: str
    locale: str
    field: str
    message: str


def field_names(job: Job) -> dict[str, tuple[str, str]]:
    """key -> (name shown to editors, type) for the job's collection (one query)."""
    rows = Field.objects.filter(collection_id=job.collection_id).values_list("key", "name", "type")
    return {key: (name or key.replace("_", " ").capitalize(), type_) for key, name, type_ in rows}


def requested_status(job: Job) -> str:
    """The status the write asked for, as an editor would say it."""
    if job.kind == JobKind.DELETE:
        return "deleted"
    status = (job.payload or {}).get("status")
    if status is None:
        return "unchanged" if job.kind == JobKind.UPDATE else "draft"
    return str(status)


def item_count(job: Job) -> int:
    if job.kind == JobKind.CREATE:
        return len((job.payload or {}).get("fields") or [])
    return 1


_VERBS = {
    JobKind.CREATE: "Create",
    JobKind.REPLACE: "Replace",
    JobKind.UPDATE: "Update",
    JobKind.DELETE: "Delete",
}
UNPUBLISH = "Unpublish"


def is_unpublish(kind: str, payload: dict | None) -> bool:
    """A status-only change to draft (the editor's Unpublish button, or such a PATCH)."""
    payload = payload or {}
    return (
        kind == JobKind.UPDATE
        and payload.get("status") == ItemStatus.DRAFT
        and not payload.get("fields")
    )


def unpublish_condition() -> Q:
    """``is_unpublish`` in SQL, for lists that do not load the payload."""
    return Q(kind=JobKind.UPDATE, payload__status=ItemStatus.DRAFT) & (
        Q(payload__fields={}) | ~Q(payload__has_key="fields")
    )


def annotate_unpublish(jobs: QuerySet) -> QuerySet:
    """``jobs`` with ``is_unpublish`` computed by the database (the payload stays unread)."""
    flag = Case(When(unpublish_condition(), then=Value(True)), default=Value(False))
    return jobs.annotate(is_unpublish=ExpressionWrapper(flag, output_field=BooleanField()))


def verb(kind: str, unpublish: bool = False) -> str:
    """What a job does, in one word, the same on every page that names jobs: "Create",
    "Replace", "Update", "Unpublish", "Delete"."""
    return UNPUBLISH if unpublish else _VERBS.get(kind, str(kind))


def headline(job: Job) -> str:
    """One line: "Create 3 items in Team Members", "Update item #42 in Team Members"."""
    collection = job.collection.name or job.collection.key
    if job.kind == JobKind.CREATE:
        count = item_count(job)
        return f"Create {count} item{'s' if count != 1 else ''} in {collection}"
    return (
        f"{verb(job.kind, is_unpublish(job.kind, job.payload))} item #{job.item_id} in {collection}"
    )


def value_rows(job: Job, names: dict[str, tuple[str, str]]) -> tuple[list[ValueRow], int]:
    """Per item and locale, the fields sent and their values; and how many items were left
    out (at most ``MAX_ITEMS_SHOWN`` are shown)."""
    fields = (job.payload or {}).get("fields")
    if job.kind == JobKind.CREATE:
        elements = list(enumerate(fields or [], start=1))
        shown, hidden = elements[:MAX_ITEMS_SHOWN], max(len(elements) - MAX_ITEMS_SHOWN, 0)
        labelled = [(f"item {number} (new)", element) for number, element in shown]
    else:
        labelled = [(f"item #{job.item_id}", fields)] if fields else []
        hidden = 0
    rows = []
    for label, by_locale in labelled:
        for locale, values in (by_locale or {}).items():
            summary = [
                (names.get(key, (key, ""))[0], summarise(value, names.get(key, ("", ""))[1]))
                for key, value in (values or {}).items()
            ]
            rows.append(ValueRow(label, locale, summary))
    return rows, hidden


def error_rows(job: Job, names: dict[str, tuple[str, str]]) -> list[ErrorRow]:
    """The job's errors, one row each, naming the item, locale and field they are about."""
    rows = []
    for error in job.errors or []:
        if not isinstance(error, dict):
            rows.append(ErrorRow("", "", "", str(error)))
            continue
        index = error.get("index")
        if index is not None and job.kind == JobKind.CREATE:
            item = f"item {int(index) + 1} (new)"
        elif job.item_id:
            item = f"item #{job.item_id}"
        else:
            item = "the whole job"
        key = error.get("field")
        field = names.get(key, (key, ""))[0] if key else ""
        rows.append(
            ErrorRow(item, error.get("locale") or "", field or "", error.get("message", ""))
        )
    return rows


def summarise(value: Any, field_type: str = "") -> str:
    """A value as a short line of text: quoted text cut at ``MAX_VALUE_CHARS``, yes/no,
    item ids for references, a few list entries and a count of the rest."""
    if value is None or value == "" or value == []:
        return "(empty)"
    if field_type == "reference":
        ids = value if isinstance(value, list) else [value]
        return _listing([f"#{ref}" for ref in ids], "item")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return f"“{shorten(' '.join(value.split()))}”"
    if isinstance(value, list):
        return _listing([summarise(entry) for entry in value])
    return shorten(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _listing(parts: list[str], noun: str = "") -> str:
    """ "item #5", "items #5, #7", "“a”, “b” and 3 more"."""
    shown = ", ".join(parts[:MAX_LIST_VALUES])
    rest = len(parts) - MAX_LIST_VALUES
    if noun:
        shown = f"{noun if len(parts) == 1 else noun + 's'} {shown}"
    return shown + (f" and {rest} more" if rest > 0 else "")


def shorten(text: str) -> str:
    """``text`` cut at ``MAX_VALUE_CHARS`` with an ellipsis."""
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
