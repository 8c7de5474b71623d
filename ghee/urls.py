from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path

from ghee.dashboard.views import favicon, home
from ghee.media.api.urls import media_endpoint
from ghee.media.views import serve_media


def healthz(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    re_path(r"^v2/media/?$", media_endpoint, name="media-api"),
    path("", home, name="home"),
    path("v2/", include("ghee.content.api.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz),
    path("favicon.ico", favicon),
    re_path(r"^media/(?P<path>.*)$", serve_media),
]

handler404 = "ghee.core.errors.json_not_found"
handler500 = "ghee.core.errors.json_server_error"
