from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ghee.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.conf import settings

        from ghee.core import outbox
        from ghee.core.chores import Chore, register

        register(Chore("prune_outbox_events", outbox.prune_events, every=3600.0))
        register(
            Chore(
                "release_stale_outbox_leases",
                lambda: {"released": outbox.EVENT_LEASES.release_stale()},
                every=lambda: settings.GHEE_OUTBOX_LEASE_SECONDS,
            )
        )
