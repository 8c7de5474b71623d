from django.apps import AppConfig
from django.core.signals import request_started
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "ghee.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from ghee.core import outbox
        from ghee.core.chores import Chore, register, release_stale_leases
        from ghee.core.db_health import drop_dead_connections
        from ghee.core.private_files import protect_sqlite_database

        connection_created.connect(protect_sqlite_database, dispatch_uid="ghee-private-sqlite")
        # After Django's close_old_connections: replace idle connections the server closed.
        request_started.connect(drop_dead_connections, dispatch_uid="ghee-drop-dead-connections")
        register(Chore("prune_outbox_events", outbox.prune_events, every=3600.0))
        register(release_stale_leases(outbox.EVENT_LEASES))
