"""The start page at ``/``: where to go from here (the dashboard, the API, the health check).

A person who opens ghee's address in a browser (or follows the dashboard's "View site"
link) lands here instead of the API's JSON 404.
"""

from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse


def home(request):
    context = {
        **admin.site.each_context(request),
        "title": "Welcome to ghee",
        "public_url": settings.PUBLIC_URL,
    }
    return TemplateResponse(request, "dashboard/home.html", context)
