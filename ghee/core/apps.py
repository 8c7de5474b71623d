from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ghee.core"
    label = "core"
    verbose_name = "Core"
