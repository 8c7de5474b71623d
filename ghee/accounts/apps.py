from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ghee.accounts"
    label = "accounts"
    verbose_name = "Organizations and tokens"
