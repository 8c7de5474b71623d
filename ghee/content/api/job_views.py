"""The job resource: GET /v2/jobs/{id}/ and GET /v2/jobs/?status=...

Jobs belong to the organization of the write token that asks; any other job is 404.
Like the Write API, it takes a write token in the ``Authorization`` header (the endpoint
layer checks it: ``reads=Access.WRITE`` in ``urls.py``).
"""

import re

from rest_framework import exceptions

from ghee.content.choices import JobKind, JobStatus
from ghee.content.models import Job
from ghee.core.api import ApiRequest
from ghee.core.http_cache import json_response

_JOB_ID = re.compile(r"[0-9]{1,18}")
MAX_PAGE_SIZE = 100


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


def _positive_int(request: ApiRequest, name: str, default: int) -> int:
    raw = request.params.get(name)
    if raw is None:
        return default
    if not _JOB_ID.fullmatch(raw) or int(raw) < 1:
        raise exceptions.ParseError(f"{name} must be a positive integer.")
    return int(raw)


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
    """Newest first; ``?status=``, ``?page=`` and ``?page_size=`` (at most 100)."""
    jobs = Job.objects.select_related("collection").filter(
        organization_id=request.token.organization_id
    )
    wanted = request.params.get("status")
    if wanted is not None:
        if wanted not in JobStatus.values:
            raise exceptions.ParseError(f"status must be one of {', '.join(JobStatus.values)}.")
        jobs = jobs.filter(status=wanted)
    page = _positive_int(request, "page", 1)
    page_size = min(_positive_int(request, "page_size", 20), MAX_PAGE_SIZE)
    count = jobs.count()
    start = (page - 1) * page_size
    rows = list(jobs.order_by("-id")[start : start + page_size])
    return json_response(
        request.http,
        {
            "meta": {
                "count": count,
                "previous_page": page - 1 if page > 1 else None,
                "next_page": page + 1 if start + page_size < count else None,
            },
            "data": [job_json(job) for job in rows],
        },
        shared=False,
    )
