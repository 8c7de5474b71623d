"""The Write API: POST /v2/content/, PUT/PATCH/DELETE /v2/content/{key}/{id}/.

Each view: (DRF authenticated the token already) read the JSON body by hand, check it
against the cached compiled schema, and hand it to ``services.accept_job``. No DRF parser
or serializer on this path: it is the hot path (docs/write-api.md, performance).

``accept_create`` is the leaner still path of the common POST (a write token in the
header, a valid JSON body, no Idempotency-Key): plain Django, no DRF request, negotiation
or renderer. It answers only when everything is in order and returns None otherwise, so
every other case (and every error body) comes from the DRF view exactly as before.
"""

import json
import logging
import re

from django.conf import settings
from django.http import HttpResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from ghee.accounts.authentication import ApiTokenAuthentication
from ghee.content.choices import JobKind
from ghee.content.schema.cache import schema_cache
from ghee.content.write import accept as services
from ghee.content.write.validation import BodyInvalid, validate_change, validate_create
from ghee.core.errors import PayloadTooLarge

logger = logging.getLogger("ghee.api")
_ITEM_ID = re.compile(r"[0-9]{1,18}")
MAX_IDEMPOTENCY_KEY = 255


class IdempotencyKeyMismatch(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was already used with a different request; use a new key."
    )
    default_code = "idempotency_key_reused"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _read_json(django_request):
    """The parsed body, or None when it is empty. 413/415/400 as DRF exceptions."""
    try:
        declared = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.GHEE_MAX_BODY_BYTES:
        raise PayloadTooLarge()
    raw = django_request.body
    if len(raw) > settings.GHEE_MAX_BODY_BYTES:
        raise PayloadTooLarge()
    if not raw.strip():
        return None, raw
    content_type = django_request.content_type or ""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise exceptions.UnsupportedMediaType(content_type or "(none)")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        if b"\\u" in raw:  # escapes can smuggle in what no database stores
            _check_strings(body)
    except (ValueError, RecursionError) as exc:
        message = str(exc) if not isinstance(exc, RecursionError) else "nested too deeply"
        raise exceptions.ParseError(f"JSON parse error - {message[:200]}") from exc
    return body, raw


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


def _idempotency(request, raw: bytes) -> services.IdempotencyRequest | None:
    key = request._request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise exceptions.ParseError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters."
        )
    fingerprint = services.request_fingerprint(request.method, request.path, raw)
    return services.IdempotencyRequest(key, fingerprint)


def _respond(accepted: services.Accepted) -> Response:
    if accepted.body is None:
        response = Response(status=accepted.status_code)
    else:
        response = Response(accepted.body, status=accepted.status_code)
    response["Location"] = f"/v2/jobs/{accepted.job_id}/"
    return response


def _replay(request, idempotency) -> Response | None:
    try:
        replay = services.find_replay(request.auth, idempotency)
    except services.IdempotencyKeyReused as exc:
        raise IdempotencyKeyMismatch() from exc
    return _respond(replay) if replay is not None else None


def _accept(request, idempotency, **job) -> Response:
    try:
        accepted = services.accept_job(token=request.auth, idempotency=idempotency, **job)
    except services.IdempotencyKeyReused as exc:
        raise IdempotencyKeyMismatch() from exc
    except services.ItemNotFound as exc:
        raise exceptions.NotFound() from exc
    return _respond(accepted)


# Accept headers the DRF view would answer with its one JSON renderer, unchanged.
_PLAIN_ACCEPT = frozenset({"", "*/*", "application/json"})
_PENDING_BYTES = json.dumps(services.PENDING_BODY, separators=(",", ":")).encode()
_SERVER_ERROR_BYTES = b'{"detail":"Internal server error."}'
_authentication = ApiTokenAuthentication()


def accept_create(request, allow: str) -> HttpResponse | None:
    """POST /v2/content/ in the common case, or None for the DRF view to answer.

    ``request`` is Django's; ``allow`` the view's ``Allow`` header. Nothing is written
    unless the 202 follows, so handing over to the DRF view is always safe.
    """
    meta = request.META
    if "HTTP_IDEMPOTENCY_KEY" in meta or meta.get("HTTP_ACCEPT", "") not in _PLAIN_ACCEPT:
        return None
    try:
        authenticated = _authentication.authenticate(request)
        body, _raw = _read_json(request)
    except exceptions.APIException:
        return None
    if authenticated is None or not authenticated[1].can_write or not isinstance(body, dict):
        return None
    token = authenticated[1]
    key = body.get("key")
    schema = schema_cache.get(token.organization_id, key) if isinstance(key, str) else None
    if schema is None:
        return None
    try:
        payload = validate_create(schema, body)
    except BodyInvalid:
        return None
    try:
        accepted = services.accept_job(
            token=token, idempotency=None, schema=schema, kind=JobKind.CREATE, payload=payload
        )
    except Exception:
        # As api_exception_handler answers on the DRF path: logged, 500, no 202.
        logger.exception("Unhandled API error")
        response = HttpResponse(_SERVER_ERROR_BYTES, status=500, content_type="application/json")
        response["Allow"] = allow
        return response
    # The same bytes and headers as the DRF view's 202 (Content-Type, Location, Allow).
    response = HttpResponse(_PENDING_BYTES, status=202, content_type="application/json")
    response["Location"] = f"/v2/jobs/{accepted.job_id}/"
    response["Allow"] = allow
    return response


def create_items(request):
    body, raw = _read_json(request._request)
    idempotency = _idempotency(request, raw)
    if replay := _replay(request, idempotency):
        return replay
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return Response(
            {"non_field_errors": ["Invalid data. Expected a dictionary."]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    key = body.get("key")
    if "key" not in body:
        return Response({"key": ["This field is required."]}, status=400)
    if not isinstance(key, str):
        return Response({"key": ["Not a valid string."]}, status=400)
    schema = schema_cache.get(request.auth.organization_id, key)
    if schema is None:
        # 400, not 404: the URL exists; what is wrong is a member of the body.
        return Response({"key": [f'Collection "{key[:100]}" not found.']}, status=400)
    try:
        payload = validate_create(schema, body)
    except BodyInvalid as exc:
        return Response(exc.detail, status=status.HTTP_400_BAD_REQUEST)
    return _accept(request, idempotency, schema=schema, kind=JobKind.CREATE, payload=payload)


def _target(request, key: str, item_id: str):
    if not _ITEM_ID.fullmatch(item_id):
        raise exceptions.NotFound()
    schema = schema_cache.get(request.auth.organization_id, key)
    if schema is None:
        raise exceptions.NotFound()
    return schema, int(item_id)


def _change(request, key: str, item_id: str, *, partial: bool) -> Response:
    schema, pk = _target(request, key, item_id)
    body, raw = _read_json(request._request)
    idempotency = _idempotency(request, raw)
    if replay := _replay(request, idempotency):
        return replay
    if not services.item_exists(schema, pk):
        raise exceptions.NotFound()
    try:
        payload = validate_change(schema, {} if body is None else body, partial=partial)
    except BodyInvalid as exc:
        return Response(exc.detail, status=status.HTTP_400_BAD_REQUEST)
    kind = JobKind.UPDATE if partial else JobKind.REPLACE
    return _accept(request, idempotency, schema=schema, kind=kind, payload=payload, item_id=pk)


def replace_item(request, key, item_id):
    return _change(request, key, item_id, partial=False)


def update_item(request, key, item_id):
    return _change(request, key, item_id, partial=True)


def delete_item(request, key, item_id):
    schema, pk = _target(request, key, item_id)
    # DELETE has no body; the fingerprint is the method and path.
    idempotency = _idempotency(request, b"")
    if replay := _replay(request, idempotency):
        return replay
    return _accept(request, idempotency, schema=schema, kind=JobKind.DELETE, payload={}, item_id=pk)
