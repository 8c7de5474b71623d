"""System checks for the dashboard's protections.

The stock checks (``security.W003`` for CSRF, ``axes.W002`` for sign-in throttling) look
for their middleware's dotted path in ``MIDDLEWARE``; ghee installs subclasses that skip
the token API, so those checks are silenced in settings and this one takes their place.
"""

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

REQUIRED_MIDDLEWARE = {
    "django.middleware.csrf.CsrfViewMiddleware": "ghee.W001",
    "axes.middleware.AxesMiddleware": "ghee.W002",
    "csp.middleware.CSPMiddleware": "ghee.W003",
}


def _installed_classes() -> list[type]:
    classes = []
    for path in settings.MIDDLEWARE:
        try:
            classes.append(import_string(path))
        except ImportError:
            continue
    return classes


@checks.register(checks.Tags.security, deploy=True)
def dashboard_middleware(app_configs, **kwargs) -> list[checks.CheckMessage]:
    installed = _installed_classes()
    problems = []
    for path, check_id in REQUIRED_MIDDLEWARE.items():
        base = import_string(path)
        if not any(isinstance(cls, type) and issubclass(cls, base) for cls in installed):
            problems.append(
                checks.Warning(f"{path} (or a subclass) is not in MIDDLEWARE.", id=check_id)
            )
    return problems
