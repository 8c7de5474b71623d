"""/v2/ routes, each an ``Endpoint`` (``ghee/core/api.py``) naming its views by method.

Content reads take any token and answer any origin (``reads=Access.READ``); writes, and
everything under /v2/jobs/, take a write token in the header (``Access.WRITE``).

Each path takes an optional trailing slash: GET/HEAD without it were already redirected by
ApiTrailingSlashMiddleware, writes are served either way.
"""

from functools import partial

from django.urls import re_path

from ghee.accounts.authentication import authenticate
from ghee.content.api import job_views, read_views, write_views
from ghee.core.api import Access, Endpoint

content = partial(Endpoint, authenticate, reads=Access.READ)
jobs = partial(Endpoint, authenticate, reads=Access.WRITE)

urlpatterns = [
    re_path(
        r"^content/?$",
        content(get=read_views.list_by_keys, post=write_views.create_items),
        name="content-root",
    ),
    re_path(
        r"^content/(?P<key>[-\w]+(?:\[[^\]]*\])?(?:,[-\w]+(?:\[[^\]]*\])?)*)/?$",
        content(get=read_views.list_collection),
        name="content-collection",
    ),
    re_path(
        r"^content/(?P<key>[-\w]+)/(?P<item_id>[^/]+)/?$",
        content(
            get=read_views.retrieve_item,
            put=write_views.replace_item,
            patch=write_views.update_item,
            delete=write_views.delete_item,
        ),
        name="content-item",
    ),
    re_path(r"^jobs/?$", jobs(get=job_views.list_jobs), name="job-list"),
    re_path(r"^jobs/(?P<job_id>[^/]+)/?$", jobs(get=job_views.retrieve_job), name="job-detail"),
]
