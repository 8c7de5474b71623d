from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ghee.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        """Turn item events into deliveries, and register the housekeeping chores.

        Registered here, not at import time: the handler must be in place before a worker
        relays an event, and importing the app must have no side effects.
        """
        from ghee.webhooks import services

        services.register()
