"""The start page at ``/`` and the site icon at ``/favicon.ico``.

A person who opens ghee's address in a browser (or follows the dashboard's "View site"
link) lands on the start page instead of the API's JSON 404. Browsers ask for
``/favicon.ico`` on every origin they visit, also for the JSON pages that name no icon.
"""

from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse

FAVICON = Path(__file__).parent / "static" / "dashboard" / "favicon.ico"


def home(request):
    context = {
        **admin.site.each_context(request),
        "title": "Welcome to ghee",
        "public_url": settings.PUBLIC_URL,
    }
    return TemplateResponse(request, "dashboard/home.html", context)


def favicon(request):
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
