from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "ghee.media"
    label = "media"
    verbose_name = "Media library"
