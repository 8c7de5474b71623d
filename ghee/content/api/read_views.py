"""The Read API: R1 ``GET /v2/content/?keys=``, R2 ``GET /v2/content/{key}/``, R3
``GET /v2/content/{key}/{id}/``. Each view parses, asks ``queries`` for the items, hands
them to ``rendering`` and answers through ``core.http_cache``.

The endpoint layer (``ghee/core/api.py``) has authenticated the token (any token of the
organization, query or header) and renders whatever these functions raise;
``request.token.organization_id`` scopes every lookup, so a token never sees another
organization's collections (they are simply not found).

Every read is within ``read.budget``'s caps: on its parameters (checked before any query)
and on what its response holds (``ResponseBudget``, counted by the renderer while it builds
the items); it runs its queries under ``read.timeouts``' time limit (``@time_limited``).
"""

import re
from dataclasses import dataclass

from rest_framework import exceptions

from ghee.content.read import budget, queries
from ghee.content.read import params as read_params
from ghee.content.read.rendering import ItemRenderer
from ghee.content.read.timeouts import time_limited
from ghee.content.schema.cache import schema_cache
from ghee.core.api import ApiRequest
from ghee.core.http_cache import json_response

# ``key`` or ``key[name=value]``; ``_id`` as the name selects an item by id.
KEY_SPEC = re.compile(r"^(?P<key>[-\w]+)(?:\[(?P<name>[^\]=]+)=(?P<value>[^\]]*)\])?$")


@dataclass(frozen=True)
class KeyRequest:
    key: str
    condition: tuple[str, str] | None  # (name, value) of a bracket filter


def unknown_collection(key: str | None = None) -> exceptions.NotFound:
    """ButterCMS's 404 for a collection that is not there (docs/read-api.md, Errors).

    R1 (``?keys=``, or a path with a comma or a bracket, read as R1) names the ``key``:
    ``Content key <key> not found``; R2 and R3 (no ``key``) answer ``Not found.``.
    """
    if key is None:
        return exceptions.NotFound()
    return exceptions.NotFound(f"Content key {key} not found")


def parse_keys(raw: str) -> list[KeyRequest]:
    """``k1,k2[name=value],...``: commas inside brackets belong to the filter value.

    A key named twice is read once, with its last bracket filter (the response holds one
    list per collection, and the last one named was always the one it kept)."""
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
    requests: dict[str, KeyRequest] = {}
    for part in (p.strip() for p in parts):
        if not part:
            continue
        match = KEY_SPEC.match(part)
        if match is None:
            raise unknown_collection(part)
        condition = None
        if match["name"] is not None:
            condition = (match["name"].strip(), match["value"])
        requests[match["key"]] = KeyRequest(match["key"], condition)
    budget.check_keys(len(requests))
    return list(requests.values())


def _filters(schema, params, request: KeyRequest | None = None) -> list[read_params.Filter]:
    """A key's bracket filter (if any) and the ``fields.*`` filters, within the cap."""
    pairs = list(dict.fromkeys(read_params.field_filter_pairs(params)))
    condition = request.condition if request is not None else None
    budget.check_filters(len(pairs) + (condition is not None))
    if condition is None:
        return read_params.parse_filters(schema, pairs)
    name, value = condition
    if name == "_id":
        bracket = [read_params.id_filter(value, f"{request.key}[_id]")]
    else:
        bracket = read_params.parse_filters(
            schema, [(name, value)], name_format=request.key + "[{}]"
        )
    return bracket + read_params.parse_filters(schema, pairs)


def _read_by_keys(request: ApiRequest, key_requests: list[KeyRequest]):
    """R1, also used for R2 paths naming several keys or a bracket filter."""
    if not key_requests:
        return json_response(request.http, {}, shared=True)
    organization_id = request.token.organization_id
    schemas = []
    for key_request in key_requests:
        schema = schema_cache.get(organization_id, key_request.key)
        if schema is None:
            raise unknown_collection(key_request.key)
        schemas.append(schema)
    params = request.params
    options = read_params.parse_read_options(params, schemas[0].locales)
    several = len(key_requests) > 1
    if several:
        # Every item of each collection, as ButterCMS answers, up to the cap: one more is
        # fetched to tell a collection that is past it (a 400, see docs/read-api.md).
        paging = read_params.Paging(offset=0, limit=budget.items_per_key())
    else:
        paging = read_params.parse_paging(params)
    queried = []
    for key_request, schema in zip(key_requests, schemas, strict=True):
        filters = _filters(schema, params, key_request)
        order = read_params.parse_order(schema, params.get("order"))
        queried.append((schema, filters, order))
    narrower = budget.NARROW_KEYS if several else budget.NARROW_LIST
    renderer = ItemRenderer(
        organization_id, options, budget.ResponseBudget(options.levels, narrower)
    )
    data, page = {}, None
    for schema, filters, order in queried:
        page = queries.list_items(schema, options.scope, filters, order, paging)
        if several and page.has_next:
            raise budget.too_many_items(schema.collection_key, page.count)
        data[schema.collection_key] = renderer.render(schema, page.items)
    body = {"data": data} if several else {"meta": page.meta(), "data": data}
    return json_response(request.http, body, shared=not options.scope.preview)


@time_limited
def list_by_keys(request: ApiRequest):
    budget.check_parameters(request.params)
    return _read_by_keys(request, parse_keys(request.params.get("keys", "")))


@time_limited
def list_collection(request: ApiRequest, key: str):
    params = request.params
    budget.check_parameters(params)
    if "," in key or "[" in key:
        # The JS SDK turns ``retrieve(["a", "b"])`` into ``/v2/content/a,b/``.
        return _read_by_keys(request, parse_keys(key))
    organization_id = request.token.organization_id
    schema = schema_cache.get(organization_id, key)
    if schema is None:
        raise unknown_collection()
    options = read_params.parse_read_options(params, schema.locales)
    filters = _filters(schema, params)
    order = read_params.parse_order(schema, params.get("order"))
    paging = read_params.parse_paging(params)
    page = queries.list_items(schema, options.scope, filters, order, paging)
    response_budget = budget.ResponseBudget(options.levels, budget.NARROW_LIST)
    items = ItemRenderer(organization_id, options, response_budget).render(schema, page.items)
    body = {"meta": page.meta(), "data": {schema.collection_key: items}}
    return json_response(request.http, body, shared=not options.scope.preview)


@time_limited
def retrieve_item(request: ApiRequest, key: str, item_id: str):
    budget.check_parameters(request.params)
    organization_id = request.token.organization_id
    schema = schema_cache.get(organization_id, key)
    item_id = read_params.parse_path_id(item_id)
    if schema is None or item_id is None:
        raise exceptions.NotFound()
    options = read_params.parse_read_options(request.params, schema.locales)
    row = queries.load_items(schema.collection_id, options.scope, [item_id]).get(item_id)
    if row is None:
        raise exceptions.NotFound()
    response_budget = budget.ResponseBudget(options.levels, budget.NARROW_ITEM)
    [item] = ItemRenderer(organization_id, options, response_budget).render(schema, [row])
    return json_response(request.http, {"data": item}, shared=not options.scope.preview)
