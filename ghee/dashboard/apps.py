from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The admin site, named for ghee. The models' admin classes live in their apps."""

    name = "ghee.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from django.contrib import admin

        from . import checks  # noqa: F401  (registers the dashboard's system checks)

        admin.site.site_header = "ghee"
        admin.site.site_title = "ghee"
        admin.site.index_title = "Content service"
