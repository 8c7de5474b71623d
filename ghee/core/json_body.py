"""Reading a request's JSON body, with the limits a client can be told about.

- Read whole, within ``GHEE_MAX_BODY_BYTES`` and ``GHEE_BODY_READ_TIMEOUT``, chunked or
  not (``core/request_body.py``): 413, 408, 415 for a ``Content-Encoding``.
- A non-empty body that is not ``application/json`` (or ``*+json``): 415.
- Not JSON, ``NaN``/``Infinity``, nested too deeply, NUL characters or lone surrogates
  (escapes can smuggle in what no database stores): 400 ``JSON parse error - ...``.
- A key twice in one object (JSON leaves it open which one counts): 400 naming the key.

No DRF parser: this is on the write hot path (docs/write-api.md, performance).
"""

import json

from rest_framework import exceptions

from ghee.core.request_body import read_body


def read_json_body(request) -> tuple[object, bytes]:
    """(the parsed body or None when it is empty, the raw bytes) of a Django request."""
    raw = read_body(request)
    if not raw.strip():
        return None, raw
    content_type = request.content_type or ""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise exceptions.UnsupportedMediaType(content_type or "(none)")
    try:
        body = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys
        )
        if b"\\u" in raw:
            _check_strings(body)
    except (ValueError, RecursionError) as exc:
        message = str(exc) if not isinstance(exc, RecursionError) else "nested too deeply"
        raise exceptions.ParseError(f"JSON parse error - {message[:200]}") from exc
    return body, raw


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {json.dumps(key)}")
            seen.add(key)
    return obj


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _check_strings(value) -> None:
    """Reject NUL characters (PostgreSQL cannot store them) and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("lone surrogate escapes are not allowed") from exc
    elif isinstance(value, dict):
        for key, member in value.items():
            _check_strings(key)
            _check_strings(member)
    elif isinstance(value, list):
        for member in value:
            _check_strings(member)
