"""``/v2/media/``: add a file to the token's organization's library, or list the library.

Both take a **write token** in the ``Authorization`` header (``reads=Access.WRITE`` in
``urls.py``), as ``/v2/jobs/`` does. Adding a file is a write. The listing is a management
view: it hands out the URL of every asset, including those of drafts, and asset URLs are
unguessable on purpose (docs/media.md, "Unguessable names"); a read token is public (it
ships in web pages), so it must not be able to enumerate them.

``POST`` takes either a ``multipart/form-data`` upload (a ``file`` part, an optional ``alt``
field), streamed to disk by ``core/upload_body.py``, or JSON ``{"url": "...", "alt": "..."}``,
downloaded here within ``GHEE_MEDIA_API_FETCH_TIMEOUT`` (it holds a server thread: a slower
or larger file belongs in a write, whose job downloads it). Either goes through the checks
of every import (``ghee.media.services``): 201 with a new asset, 200 with the existing one
for bytes already in the library.
"""

import time

from django.conf import settings
from rest_framework import exceptions

from ghee.core.api import ApiRequest
from ghee.core.errors import FieldErrors
from ghee.core.http_cache import json_response
from ghee.core.json_body import read_json_body
from ghee.core.paging import parse_paging
from ghee.core.upload_body import UploadForm, is_multipart, read_upload
from ghee.media.models import MediaAsset
from ghee.media.presenting import asset_json
from ghee.media.services import NUL, MediaImportError, add_from_url, add_upload
from ghee.media.temporaries import Temporary

ALT_MAX_LENGTH = MediaAsset._meta.get_field("alt_text").max_length
HOW_TO_SEND = 'Send a multipart upload with a "file" part, or JSON {"url": "..."}.'


class MediaRefused(exceptions.APIException):
    """The file did not pass: 400 with the reason (``too large: ...``, ``blocked address:
    ...``, ``not an allowed file type``), or 502 when the source host failed in a way that
    may pass (``timed out``, ``HTTP 503 from host``; ``Retry-After`` when it said when)."""

    default_code = "media_refused"

    def __init__(self, error: MediaImportError) -> None:
        super().__init__(str(error))
        self.status_code = 502 if error.retryable else 400
        if error.retry_after and error.retry_after.isdigit():
            self.wait = int(error.retry_after)


def read_media_body(request):
    """The endpoint's body reader: an upload streamed to disk, or JSON as everywhere."""
    if is_multipart(request):
        form = read_upload(
            request,
            max_file_bytes=settings.GHEE_MEDIA_MAX_BYTES,
            deadline=time.monotonic() + settings.GHEE_MEDIA_UPLOAD_TIMEOUT,
            new_temporary=lambda: Temporary("upload", suffix=".upload"),
        )
        return form, b""
    return read_json_body(request)


def create_asset(request: ApiRequest):
    organization_id = request.token.organization_id
    body = request.body
    try:
        if isinstance(body, UploadForm):
            upload = body.files.get("file")
            if upload is None:
                raise exceptions.ParseError(HOW_TO_SEND)
            alt = _alt(body.fields.get("alt"))
            asset, created = add_upload(organization_id, upload, upload.name or "", alt=alt)
        elif isinstance(body, dict):
            url, alt = _url_and_alt(body)
            asset, created = add_from_url(
                organization_id, url, alt=alt, timeout=settings.GHEE_MEDIA_API_FETCH_TIMEOUT
            )
        else:
            raise exceptions.ParseError(HOW_TO_SEND)
    except MediaImportError as exc:
        raise MediaRefused(exc) from exc
    return json_response(
        request.http, asset_json(asset), shared=False, status=201 if created else 200
    )


def list_assets(request: ApiRequest):
    """Newest first, paged as reads are (``page``/``page_size`` or ``limit``/``offset``)."""
    paging = parse_paging(request.params)
    assets = MediaAsset.objects.filter(organization_id=request.token.organization_id)
    count = assets.count()
    rows = assets.order_by("-created_at", "-id")[paging.offset : paging.offset + paging.limit]
    payload = {"meta": paging.meta(count), "data": [asset_json(asset) for asset in rows]}
    return json_response(request.http, payload, shared=False)


def _url_and_alt(body: dict) -> tuple[str, str]:
    errors = {key: ["Unknown field."] for key in body if key not in ("url", "alt")}
    url = body.get("url")
    if not isinstance(url, str) or not url.strip():
        errors["url"] = ["This field is required: the URL of the file to add."]
    try:
        alt = _alt(body.get("alt"))
    except FieldErrors as exc:
        errors.update(exc.detail)
        alt = ""
    if errors:
        raise FieldErrors(errors)
    return url.strip(), alt


def _alt(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldErrors({"alt": ["Must be a string."]})
    if NUL in value:
        raise FieldErrors({"alt": ["Must not contain NUL (\\x00) characters."]})
    if len(value) > ALT_MAX_LENGTH:
        raise FieldErrors(
            {"alt": [f"Ensure this field has no more than {ALT_MAX_LENGTH} characters."]}
        )
    return value
