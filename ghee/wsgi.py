import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ghee.settings")
django_application = get_wsgi_application()

from ghee.core.errors import guard_wsgi  # noqa: E402 (imports models' settings: after setup)

application = guard_wsgi(django_application)
