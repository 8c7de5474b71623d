from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "ghee.content"
    label = "content"
    verbose_name = "Content"

    def ready(self) -> None:
        from ghee.accounts.services import register_locale_shape_check
        from ghee.content import media_usage
        from ghee.content.chores import register_chores
        from ghee.content.models import Item
        from ghee.content.read import timeouts
        from ghee.content.write.pipeline import ITEM_EVENTS, ITEM_TOPIC
        from ghee.core import outbox

        register_chores()
        outbox.register_events(ITEM_TOPIC, ITEM_EVENTS, label="collection item")
        media_usage.register()  # the media library shows which items use an asset
        timeouts.connect_signals()
        # Items hold their values flat or by locale: an organization with items cannot
        # switch between the two (checked by the accounts dashboard).
        register_locale_shape_check(lambda org: Item.objects.filter(organization=org).exists())
