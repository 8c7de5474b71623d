"""The body of a webhook: ButterCMS's payload (§12), byte for byte what receivers expect.

```json
{"data": {"id": "<collection key>", "itemid": "/v2/content/?keys=<key>[_id=<id>]",
          "label": "...", "editor": "...", "timestamp": "YYYY-MM-DDTHH:MM:SS",
          "locale": null, "status": "published"},
 "webhook": {"event": "collectionitem.published", "target": "<endpoint URL>"}}
```

Built from an outbox event's ``data`` (written by the content app's write pipeline), so
this module needs nothing from the content app. The body is built once per delivery and
stored: every retry sends, and signs, the same bytes.
"""

import json
from datetime import UTC, datetime

from ghee.webhooks.choices import TEST_EVENT


def _timestamp(value: str | None) -> str:
    """ISO 8601 in UTC without a zone, to the second, as ButterCMS sends it."""
    moment = datetime.fromisoformat(value) if value else datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _encode(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def item_event_body(event: str, data: dict, target: str) -> str:
    """The JSON body for an item event (``data`` as the write pipeline records it)."""
    label = data.get("label")
    return _encode(
        {
            "data": {
                "id": data["collection"],
                "itemid": f"/v2/content/?keys={data['collection']}[_id={data['item_id']}]",
                "label": "" if label is None else str(label),
                "editor": data.get("editor") or "",
                "timestamp": _timestamp(data.get("timestamp")),
                # ButterCMS: the locale's code, or null for the default locale.
                "locale": None if data.get("default_locale") else data.get("locale"),
                "status": data["status"],
            },
            "webhook": {"event": event, "target": target},
        }
    )


def test_event_body(target: str, editor: str) -> str:
    """A test event: the same shape, for no real item (``collectionitem.test``)."""
    return _encode(
        {
            "data": {
                "id": "ghee_test",
                "itemid": "/v2/content/?keys=ghee_test[_id=0]",
                "label": "Test event from ghee",
                "editor": editor,
                "timestamp": _timestamp(None),
                "locale": None,
                "status": "published",
            },
            "webhook": {"event": TEST_EVENT, "target": target},
        }
    )
