from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "ghee.content"
    label = "content"
    verbose_name = "Content"
