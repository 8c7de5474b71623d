"""The Write API: POST /v2/content/, PUT/PATCH/DELETE /v2/content/{key}/{id}/.

Each view gets an authenticated write token and the parsed JSON body from the endpoint
layer (``ghee/core/api.py``), checks the body against the cached compiled schema and hands
it to ``accept.accept_job``. POST without an Idempotency-Key is the hot path
(docs/write-api.md, performance): a token and a schema from per-process caches, one
validation, one INSERT, the 202 - no other query.
"""

from django.http import HttpResponse
from rest_framework import exceptions, status

from ghee.content.choices import JobKind
from ghee.content.read.params import parse_path_id
from ghee.content.schema.cache import schema_cache
from ghee.content.write import accept as services
from ghee.content.write.validation import (
    BodyInvalid,
    require_object,
    validate_change,
    validate_create,
)
from ghee.core.api import ApiRequest
from ghee.core.errors import FieldErrors
from ghee.core.http_cache import private_response, render_json

MAX_IDEMPOTENCY_KEY = 255


class IdempotencyKeyMismatch(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was already used with a different request; use a new key."
    )
    default_code = "idempotency_key_reused"


def _idempotency(request: ApiRequest, raw: bytes) -> services.IdempotencyRequest | None:
    key = request.http.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise exceptions.ParseError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters."
        )
    fingerprint = services.request_fingerprint(request.http.method, request.http.path, raw)
    return services.IdempotencyRequest(key, fingerprint)


def _respond(accepted: services.Accepted) -> HttpResponse:
    body = None if accepted.body is None else render_json(accepted.body)
    response = private_response(body, accepted.status_code)
    response["Location"] = f"/v2/jobs/{accepted.job_id}/"
    return response


def _replay(request: ApiRequest, idempotency) -> HttpResponse | None:
    try:
        replay = services.find_replay(request.token, idempotency)
    except services.IdempotencyKeyReused as exc:
        raise IdempotencyKeyMismatch() from exc
    return _respond(replay) if replay is not None else None


def _accept(request: ApiRequest, idempotency, **job) -> HttpResponse:
    try:
        accepted = services.accept_job(token=request.token, idempotency=idempotency, **job)
    except services.IdempotencyKeyReused as exc:
        raise IdempotencyKeyMismatch() from exc
    except services.ItemNotFound as exc:
        raise exceptions.NotFound() from exc
    return _respond(accepted)


def _validated(validate, *args, **kwargs) -> dict:
    try:
        return validate(*args, **kwargs)
    except BodyInvalid as exc:
        raise FieldErrors(exc.detail) from exc


def create_items(request: ApiRequest) -> HttpResponse:
    idempotency = _idempotency(request, request.raw_body)
    if replay := _replay(request, idempotency):
        return replay
    body = _validated(require_object, {} if request.body is None else request.body)
    if "key" not in body:
        raise FieldErrors({"key": ["This field is required."]})
    key = body["key"]
    if not isinstance(key, str):
        raise FieldErrors({"key": ["Not a valid string."]})
    schema = schema_cache.get(request.token.organization_id, key)
    if schema is None:
        # 400, not 404: the URL exists; what is wrong is a member of the body.
        raise FieldErrors({"key": [f'Collection "{key[:100]}" not found.']})
    payload = _validated(validate_create, schema, body)
    return _accept(request, idempotency, schema=schema, kind=JobKind.CREATE, payload=payload)


def _target(request: ApiRequest, key: str, item_id: str):
    pk = parse_path_id(item_id)
    schema = schema_cache.get(request.token.organization_id, key)
    if schema is None or pk is None:
        raise exceptions.NotFound()
    return schema, pk


def _change(request: ApiRequest, key: str, item_id: str, *, partial: bool) -> HttpResponse:
    schema, pk = _target(request, key, item_id)
    idempotency = _idempotency(request, request.raw_body)
    if replay := _replay(request, idempotency):
        return replay
    if not services.item_exists(schema, pk):
        raise exceptions.NotFound()
    body = {} if request.body is None else request.body
    payload = _validated(validate_change, schema, body, partial=partial)
    kind = JobKind.UPDATE if partial else JobKind.REPLACE
    return _accept(request, idempotency, schema=schema, kind=kind, payload=payload, item_id=pk)


def replace_item(request: ApiRequest, key: str, item_id: str) -> HttpResponse:
    return _change(request, key, item_id, partial=False)


def update_item(request: ApiRequest, key: str, item_id: str) -> HttpResponse:
    return _change(request, key, item_id, partial=True)


def delete_item(request: ApiRequest, key: str, item_id: str) -> HttpResponse:
    schema, pk = _target(request, key, item_id)
    # DELETE has no body; the fingerprint is the method and path.
    idempotency = _idempotency(request, b"")
    if replay := _replay(request, idempotency):
        return replay
    return _accept(request, idempotency, schema=schema, kind=JobKind.DELETE, payload={}, item_id=pk)
