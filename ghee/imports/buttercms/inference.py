"""Inferring a collection's schema from its content, for review.

ButterCMS's Read API has no schema endpoint, but each field type has one JSON form
(buttercms-collections-api.md §8-§9): a checkbox is a boolean, a number a number, a date an
ISO string without a zone, a media field a URL on the CDN, and at ``levels=1`` a reference
is the URI ``/v2/content/?keys=<key>[_id=<id>]`` (a list of them when one-to-many), which
names its target collection. Every value of every item version is observed; the type of a
field is the one that fits all of them, and the schema document says, per field, why it was
chosen and on how many values. The rules, in order:

- never a value -> short_text (with a warning);
- reference URIs -> reference to the collection they name; a list -> ``many``;
- all booleans -> checkbox; all numbers -> number; all ISO dates -> date;
  all ``#rrggbb`` -> color; all media URLs (ButterCMS's CDN, a ``--media-host``, or a
  media file extension) -> media;
- strings: any HTML markup -> wysiwyg; any multi-line or longer than 255 -> long_text;
  else short_text;
- anything else (mixed kinds) -> the most common kind's type, with a warning: the values
  that do not fit are reported per item when they are written.

``required`` (a value in every version) and the collection's ``label`` are guesses and the
document marks them so. A dropdown cannot be told from short text by its values.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import yaml

REFERENCE_URI = re.compile(r"^/v2/content/\?keys=([A-Za-z0-9][A-Za-z0-9_-]*)\[_id=(\d+)\]$")
ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
HTML = re.compile(
    r"<(?:p|div|br|h[1-6]|ul|ol|li|strong|em|b|i|a|img|span|table|blockquote)\b[^>]{0,500}>", re.I
)
URL = re.compile(r"^https?://[^\s]{1,2000}$")
MEDIA_EXTENSIONS = frozenset(
    {"png", "jpg", "jpeg", "gif", "webp", "svg", "avif", "bmp", "ico", "tif", "tiff"}
    | {"pdf", "mp4", "webm", "mov", "mp3", "wav", "ogg"}
)
BUTTERCMS_CDN_HOSTS = frozenset({"cdn.buttercms.com"})
LONG_TEXT = 255
LABEL_NAMES = ("name", "title", "label", "headline", "slug")


def reference_target(value) -> tuple[str, int] | None:
    """(collection key, source id) of a level-1 reference URI, or None."""
    if isinstance(value, str):
        match = REFERENCE_URI.match(value)
        if match:
            return match.group(1), int(match.group(2))
    return None


def is_empty(value) -> bool:
    return value is None or value == "" or value == []


@dataclass
class FieldStats:
    key: str
    seen: int = 0  # item versions that carry the key
    values: int = 0  # non-empty values among them
    kinds: Counter = field(default_factory=Counter)
    targets: Counter = field(default_factory=Counter)
    lists: int = 0


class Inference:
    def __init__(self, media_hosts: frozenset[str] = frozenset()) -> None:
        self.media_hosts = BUTTERCMS_CDN_HOSTS | {h.lower() for h in media_hosts}
        self.fields: dict[str, dict[str, FieldStats]] = {}
        self.versions: Counter = Counter()

    def observe(self, collection: str, item: dict) -> None:
        stats = self.fields.setdefault(collection, {})
        self.versions[collection] += 1
        for key, value in item.items():
            if key == "meta":
                continue
            field_stats = stats.get(key) or stats.setdefault(key, FieldStats(key))
            field_stats.seen += 1
            if is_empty(value):
                if value == []:
                    field_stats.lists += 1
                continue
            field_stats.values += 1
            if isinstance(value, list):
                field_stats.lists += 1
                for element in value:
                    self._count(field_stats, element, in_list=True)
            else:
                self._count(field_stats, value, in_list=False)

    def _count(self, stats: FieldStats, value, *, in_list: bool) -> None:
        target = reference_target(value)
        if target is not None:
            stats.kinds["reference"] += 1
            stats.targets[target[0]] += 1
        elif in_list:
            stats.kinds["list of other values"] += 1
        else:
            stats.kinds[self.kind(value)] += 1

    def kind(self, value) -> str:
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int | float):
            return "number"
        if not isinstance(value, str):
            return "object"
        if ISO_DATE.match(value):
            return "date"
        if COLOR.match(value):
            return "color"
        if URL.match(value):
            parts = urlsplit(value)
            extension = parts.path.rpartition(".")[2].lower() if "." in parts.path else ""
            if (parts.hostname or "") in self.media_hosts or extension in MEDIA_EXTENSIONS:
                return "media URL"
        if HTML.search(value):
            return "HTML"
        if "\n" in value or len(value) > LONG_TEXT:
            return "long text"
        return "text"

    def referenced_collections(self) -> set[str]:
        return {t for stats in self.fields.values() for s in stats.values() for t in s.targets}


SIMPLE = {
    "boolean": "checkbox",
    "number": "number",
    "date": "date",
    "color": "color",
    "media URL": "media",
}
TEXT_KINDS = {"text", "long text", "HTML", "date", "color", "media URL"}


@dataclass
class FieldChoice:
    data: dict  # the field as the schema document writes it
    why: str
    warning: str = ""


def choose(stats: FieldStats, collection: str) -> FieldChoice:
    kinds, count = stats.kinds, sum(stats.kinds.values())
    where = f"{collection}.{stats.key}"
    if not count:
        return FieldChoice(
            {"key": stats.key, "type": "short_text"},
            f"never seen with a value ({stats.seen} versions): short_text by default",
            f"{where}: never seen with a value; short_text by default (check it)",
        )
    if set(kinds) == {"reference"}:
        target = stats.targets.most_common(1)[0][0]
        data = {"key": stats.key, "type": "reference", "to": target}
        many = stats.lists > 0
        if many:
            data["many"] = True
        shape = "lists of reference URIs" if many else "reference URIs"
        warning = ""
        if len(stats.targets) > 1:
            named = sorted(stats.targets)
            warning = f"{where}: references name several collections {named}; chose {target}"
        return FieldChoice(data, f"{stats.values} values are {shape} naming {target}", warning)
    if len(kinds) == 1 and next(iter(kinds)) in SIMPLE:
        kind = next(iter(kinds))
        return FieldChoice(
            {"key": stats.key, "type": SIMPLE[kind]}, f"all {count} values are {_plural(kind)}"
        )
    if set(kinds) <= TEXT_KINDS:
        if kinds["HTML"]:
            chosen, reason = "wysiwyg", f"{kinds['HTML']} of {count} strings hold HTML markup"
        elif kinds["long text"]:
            chosen = "long_text"
            reason = (
                f"{kinds['long text']} of {count} strings are multi-line or longer than {LONG_TEXT}"
            )
        else:
            chosen = "short_text"
            reason = f"all {count} values are short single-line strings"
        return FieldChoice({"key": stats.key, "type": chosen}, reason)
    kind = kinds.most_common(1)[0][0]
    chosen = SIMPLE.get(kind, "short_text")
    mixed = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    return FieldChoice(
        {"key": stats.key, "type": chosen},
        f"mixed values ({mixed}): the most common kind",
        f"{where}: mixed values ({mixed}); chose {chosen}, the others will be reported",
    )


def _plural(kind: str) -> str:
    return {
        "boolean": "booleans",
        "number": "numbers",
        "date": "ISO dates",
        "color": "#rrggbb colors",
        "media URL": "media URLs",
    }[kind]


@dataclass
class InferredSchema:
    data: dict  # the schema document (``{"collections": [...]}``)
    text: str  # the same as YAML, with a comment per field
    warnings: list[str]


def infer_schema(
    inference: Inference, collections: list[str], available: set[str], source: str
) -> InferredSchema:
    """The schema document for ``collections`` (in that order).

    ``available``: collections a reference may point to (imported now, or already in the
    organization); a reference to another collection cannot be kept: the field is left out
    with a warning (import its collection too, with --keys or --follow-references).
    """
    warnings: list[str] = []
    lines = [
        f"# Inferred by `ghee import buttercms` from {source}.",
        "# Each type was chosen from every value seen (the comment above a field says why);",
        "# `required` and `label` are guesses. Edit, then import with --schema FILE.",
        "collections:",
    ]
    document: dict = {"collections": []}
    for key in collections:
        stats = inference.fields.get(key, {})
        versions = inference.versions[key]
        fields, field_lines = [], []
        for field_stats in stats.values():
            choice = choose(field_stats, key)
            if choice.warning:
                warnings.append(choice.warning)
            if choice.data["type"] == "reference" and choice.data["to"] not in available:
                warnings.append(
                    f"{key}.{field_stats.key}: references {choice.data['to']}, which is not "
                    "imported: field left out (add it to --keys, or --follow-references)"
                )
                field_lines.append(
                    f"      # left out: references {choice.data['to']}, not imported"
                )
                continue
            why = choice.why
            if (
                choice.data["type"] not in ("reference", "checkbox")
                and versions
                and field_stats.values == versions
            ):
                choice.data["required"] = True
                why += f"; required: a guess (a value in all {versions} versions)"
            fields.append(choice.data)
            field_lines += [f"      # {why}", f"      - {_flow(choice.data)}"]
        label, label_why = _guess_label(fields)
        collection: dict = {"key": key}
        lines.append(f"  - key: {_scalar(key)}")
        if label:
            collection["label"] = label
            lines.append(f"    label: {_scalar(label)}  # a guess: {label_why}")
        collection["fields"] = fields
        lines.append("    fields:" if fields else "    fields: []")
        lines += field_lines
        document["collections"].append(collection)
    return InferredSchema(document, "\n".join(lines) + "\n", warnings)


def _guess_label(fields: list[dict]) -> tuple[str | None, str]:
    texts = [f["key"] for f in fields if f["type"] == "short_text"]
    for name in LABEL_NAMES:
        if name in texts:
            return name, f'the short text field called "{name}"'
    if texts:
        return texts[0], "the first short text field"
    return None, ""


def _flow(data: dict) -> str:
    return yaml.safe_dump(
        data, default_flow_style=True, sort_keys=False, width=float("inf"), allow_unicode=True
    ).strip()


def _scalar(value: str) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, allow_unicode=True)
        .strip()
        .removesuffix("\n...")
        .strip()
    )
