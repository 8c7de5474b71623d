"""The /v2/ API views. Each URL answers ButterCMS's methods and nothing else (405 with
``Allow`` otherwise); the work is in ``read_views`` (Read API), ``write_views`` (Write API)
and ``job_views`` (job status)."""

from rest_framework.views import APIView

from . import job_views, read_views, write_views


class ContentRootView(APIView):
    """``/v2/content/``: GET reads by ``?keys=``; POST creates items."""

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
