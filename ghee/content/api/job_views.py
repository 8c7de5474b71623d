"""The job resource: GET /v2/jobs/{id}/ and GET /v2/jobs/?status=...

Jobs belong to the organization of the write token that asks; any other job is 404.
Like the Write API, it takes a write token in the ``Authorization`` header (the endpoint
layer checks it: ``reads=Access.WRITE`` in ``urls.py``).
"""

from rest_framework import exceptions

from ghee.content.choices import JobKind, JobStatus
from ghee.content.models import Job
from ghee.content.read.params import parse_path_id
from ghee.core.api import ApiRequest
from ghee.core.http_cache import json_response
from ghee.core.paging import parse_paging


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
    pk = parse_path_id(job_id)
    if pk is None:
        raise exceptions.NotFound()
    job = (
        Job.objects.select_related("collection")
        .filter(pk=pk, organization_id=request.token.organization_id)
        .first()
    )
    if job is None:
        raise exceptions.NotFound()
    return json_response(request.http, job_json(job), shared=False)


def list_jobs(request: ApiRequest):
    """Newest first; ``?status=``; paged as reads are (``page``/``page_size`` or
    ``limit``/``offset``, at most 100 a page, the same 400s and ``meta``: ``ghee.core.paging``)."""
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
    rows = list(jobs.order_by("-id")[paging.offset : paging.offset + paging.limit])
    body = {"meta": paging.meta(count), "data": [job_json(job) for job in rows]}
    return json_response(request.http, body, shared=False)
