from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "ghee.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from .private_files import protect_sqlite_database

        connection_created.connect(protect_sqlite_database, dispatch_uid="ghee-private-sqlite")
