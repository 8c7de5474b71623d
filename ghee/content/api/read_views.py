"""The Read API: R1 ``GET /v2/content/?keys=``, R2 ``GET /v2/content/{key}/``, R3
``GET /v2/content/{key}/{id}/``. Each view parses, asks ``queries`` for the items, hands
them to ``rendering`` and answers through ``core.http_cache``.

The endpoint layer (``ghee/core/api.py``) has authenticated the token (any token of the
organization, query or header) and renders whatever these functions raise;
``request.token.organization_id`` scopes every lookup, so a token never sees another
organization's collections (they are simply not found).
"""

import re
from dataclasses import dataclass

from rest_framework import exceptions

from ghee.content.read import params as read_params
from ghee.content.read import queries
from ghee.content.read.rendering import ItemRenderer
from ghee.content.schema.cache import schema_cache
from ghee.core.api import ApiRequest
from ghee.core.http_cache import json_response

# ``key`` or ``key[name=value]``; ``_id`` as the name selects an item by id.
KEY_SPEC = re.compile(r"^(?P<key>[-\w]+)(?:\[(?P<name>[^\]=]+)=(?P<value>[^\]]*)\])?$")


@dataclass(frozen=True)
class KeyRequest:
    key: str
    condition: tuple[str, str] | None  # (name, value) of a bracket filter


def parse_keys(raw: str) -> list[KeyRequest]:
    """``k1,k2[name=value],...``: commas inside brackets belong to the filter value."""
    parts, depth, current = [], 0, []
    for char in raw:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += char == "["
        depth -= char == "]" and depth > 0
        current.append(char)
    parts.append("".join(current))
    requests = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        match = KEY_SPEC.match(part)
        if match is None:
            raise exceptions.NotFound(f"Content key {part} not found")
        condition = None
        if match["name"] is not None:
            condition = (match["name"].strip(), match["value"])
        requests.append(KeyRequest(match["key"], condition))
    return requests


def _bracket_filters(schema, request: KeyRequest) -> list[read_params.Filter]:
    if request.condition is None:
        return []
    name, value = request.condition
    if name == "_id":
        return [read_params.id_filter(value, f"{request.key}[_id]")]
    return read_params.parse_filters(schema, [(name, value)], name_format=request.key + "[{}]")


def _read_by_keys(request: ApiRequest, key_requests: list[KeyRequest]):
    """R1, also used for R2 paths naming several keys or a bracket filter."""
    if not key_requests:
        return json_response(request.http, {}, shared=True)
    organization_id = request.token.organization_id
    schemas = []
    for key_request in key_requests:
        schema = schema_cache.get(organization_id, key_request.key)
        if schema is None:
            raise exceptions.NotFound(f"Content key {key_request.key} not found")
        schemas.append(schema)
    params = request.params
    options = read_params.parse_read_options(params, schemas[0].locales)
    paging = read_params.parse_paging(params) if len(key_requests) == 1 else read_params.EVERYTHING
    renderer = ItemRenderer(organization_id, options)
    data, page = {}, None
    for key_request, schema in zip(key_requests, schemas, strict=True):
        filters = _bracket_filters(schema, key_request)
        filters += read_params.parse_filters(schema, read_params.field_filter_pairs(params))
        order = read_params.parse_order(schema, params.get("order"))
        page = queries.list_items(schema, options.scope, filters, order, paging)
        data[schema.collection_key] = renderer.render(schema, page.items)
    body = {"meta": page.meta(), "data": data} if len(key_requests) == 1 else {"data": data}
    return json_response(request.http, body, shared=not options.scope.preview)


def list_by_keys(request: ApiRequest):
    return _read_by_keys(request, parse_keys(request.params.get("keys", "")))


def list_collection(request: ApiRequest, key: str):
    if "," in key or "[" in key:
        # The JS SDK turns ``retrieve(["a", "b"])`` into ``/v2/content/a,b/``.
        return _read_by_keys(request, parse_keys(key))
    organization_id = request.token.organization_id
    schema = schema_cache.get(organization_id, key)
    if schema is None:
        raise exceptions.NotFound()
    params = request.params
    options = read_params.parse_read_options(params, schema.locales)
    filters = read_params.parse_filters(schema, read_params.field_filter_pairs(params))
    order = read_params.parse_order(schema, params.get("order"))
    paging = read_params.parse_paging(params)
    page = queries.list_items(schema, options.scope, filters, order, paging)
    items = ItemRenderer(organization_id, options).render(schema, page.items)
    body = {"meta": page.meta(), "data": {schema.collection_key: items}}
    return json_response(request.http, body, shared=not options.scope.preview)


def retrieve_item(request: ApiRequest, key: str, item_id: str):
    organization_id = request.token.organization_id
    schema = schema_cache.get(organization_id, key)
    item_id = read_params.parse_item_id(item_id)
    if schema is None or item_id is None:
        raise exceptions.NotFound()
    options = read_params.parse_read_options(request.params, schema.locales)
    values = queries.load_items(schema.collection_id, options.scope, [item_id]).get(item_id)
    if values is None:
        raise exceptions.NotFound()
    [item] = ItemRenderer(organization_id, options).render(schema, [(item_id, values)])
    return json_response(request.http, {"data": item}, shared=not options.scope.preview)
