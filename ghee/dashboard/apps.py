from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "ghee.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
