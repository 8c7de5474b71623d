from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "ghee.media"
    label = "media"
    verbose_name = "Media library"

    def ready(self) -> None:
        from django.conf import settings

        from ghee.core.chores import Chore, register
        from ghee.media.orphans import sweep_orphaned_media

        # Hourly, or as often as the grace period if that is shorter (tests, small disks).
        register(
            Chore(
                "sweep_orphaned_media",
                sweep_orphaned_media,
                every=lambda: min(3600.0, max(settings.GHEE_MEDIA_ORPHAN_GRACE_SECONDS, 60)),
            )
        )
