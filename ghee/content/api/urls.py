"""/v2/ routes. Each path takes an optional trailing slash: GET/HEAD without it were already
redirected by ApiTrailingSlashMiddleware, writes are served either way."""

from django.urls import re_path

from ghee.content.api import views

urlpatterns = [
    re_path(r"^content/?$", views.ContentRootView.as_view(), name="content-root"),
    re_path(
        r"^content/(?P<key>[-\w]+(?:\[[^\]]*\])?(?:,[-\w]+(?:\[[^\]]*\])?)*)/?$",
        views.CollectionView.as_view(),
        name="content-collection",
    ),
    re_path(
        r"^content/(?P<key>[-\w]+)/(?P<item_id>[^/]+)/?$",
        views.ItemView.as_view(),
        name="content-item",
    ),
    re_path(r"^jobs/?$", views.JobListView.as_view(), name="job-list"),
    re_path(r"^jobs/(?P<job_id>[^/]+)/?$", views.JobDetailView.as_view(), name="job-detail"),
]
