"""The /v2/ API views. Each URL answers ButterCMS's methods and nothing else (405 with
``Allow`` otherwise); the work is in ``read_views`` (Read API), ``write_views`` (Write API)
and ``job_views`` (job status)."""

import functools

from rest_framework.views import APIView

from ghee.content.api import job_views, read_views, write_views


class ContentRootView(APIView):
    """``/v2/content/``: GET reads by ``?keys=``; POST creates items.

    The common POST is answered by ``write_views.accept_create`` without DRF (the hot path:
    docs/write-api.md, performance); whatever it declines goes through this view as usual.
    """

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)
        template = cls(**initkwargs)
        template.setup(None)  # as Django does per request: HEAD follows GET
        allow = ", ".join(template.allowed_methods)

        @functools.wraps(drf_view)  # keeps csrf_exempt and DRF's view attributes
        def content_root(request, *args, **kwargs):
            if request.method == "POST":
                response = write_views.accept_create(request, allow)
                if response is not None:
                    return response
            return drf_view(request, *args, **kwargs)

        return content_root

    def get(self, request):
        return read_views.list_by_keys(request)

    def post(self, request):
        return write_views.create_items(request)


class CollectionView(APIView):
    """``/v2/content/{key}/``: read-only, as on ButterCMS."""

    def get(self, request, key):
        return read_views.list_collection(request, key)


class ItemView(APIView):
    """``/v2/content/{key}/{id}/``."""

    def get(self, request, key, item_id):
        return read_views.retrieve_item(request, key, item_id)

    def put(self, request, key, item_id):
        return write_views.replace_item(request, key, item_id)

    def patch(self, request, key, item_id):
        return write_views.update_item(request, key, item_id)

    def delete(self, request, key, item_id):
        return write_views.delete_item(request, key, item_id)


class JobListView(APIView):
    def get(self, request):
        return job_views.list_jobs(request)


class JobDetailView(APIView):
    def get(self, request, job_id):
        return job_views.retrieve_job(request, job_id)
