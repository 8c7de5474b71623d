"""The job resource: GET /v2/jobs/{id}/ and GET /v2/jobs/?status=...

Jobs belong to the organization of the write token that asks; any other job is 404.
Like the Write API, it takes a write token in the ``Authorization`` header (the endpoint
layer checks it: ``reads=Access.WRITE`` in ``urls.py``).
"""

import re

from rest_framework import exceptions

from ghee.content.choices import JobKind, JobStatus
from ghee.content.models import Job
from ghee.content.read.params import parse_paging
from ghee.core.api import ApiRequest
from ghee.core.http_cache import json_response

_JOB_ID = re.compile(r"[0-9]{1,18}")


def _timestamp(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def job_json(job: Job) -> dict:
    if job.kind == JobKind.CREATE:
        item_ids = list(job.result.get("item_ids", [])) if isinstance(job.result, dict) else []
    else:
        item_ids = [job.item_id] if job.item_id else []
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "collection": job.collection.key,
        "item_ids": item_ids,
        "errors": job.errors or [],
        "attempts": job.attempts,
        "created_at": _timestamp(job.created_at),
        "started_at": _timestamp(job.started_at),
        "finished_at": _timestamp(job.finished_at),
    }


def retrieve_job(request: ApiRequest, job_id: str):
    if not _JOB_ID.fullmatch(job_id):
        raise exceptions.NotFound()
    job = (
        Job.objects.select_related("collection")
        .filter(pk=int(job_id), organization_id=request.token.organization_id)
        .first()
    )
    if job is None:
        raise exceptions.NotFound()
    return json_response(request.http, job_json(job), shared=False)


def list_jobs(request: ApiRequest):
    """Newest first; ``?status=``; paged as reads are (``page``/``page_size`` or
    ``limit``/``offset``, at most 100 a page, the same 400s: ``read/params.parse_paging``)."""
    jobs = Job.objects.select_related("collection").filter(
        organization_id=request.token.organization_id
    )
    wanted = request.params.get("status")
    if wanted is not None:
        if wanted not in JobStatus.values:
            raise exceptions.ParseError(f"status must be one of {', '.join(JobStatus.values)}.")
        jobs = jobs.filter(status=wanted)
    paging = parse_paging(request.params)
    count = jobs.count()
    start, size = paging.offset, paging.limit
    rows = list(jobs.order_by("-id")[start : start + size])
    has_next = start + size < count
    if paging.by_offset:
        meta = {
            "count": count,
            "next_offset": start + size if has_next else None,
            "previous_offset": max(start - size, 0) if start else None,
        }
    else:
        meta = {
            "count": count,
            "previous_page": paging.page - 1 if paging.page > 1 else None,
            "next_page": paging.page + 1 if has_next else None,
        }
    return json_response(
        request.http, {"meta": meta, "data": [job_json(job) for job in rows]}, shared=False
    )
