from django.db import models

from ghee.core.leases import LeaseStatus


class EventType(models.TextChoices):
    """What an endpoint can subscribe to: ButterCMS's collection item events (§12)."""

    ALL = "collectionitem.all", "Every collection item event"
    PUBLISHED = "collectionitem.published", "Item published"
    DRAFT = "collectionitem.draft", "Item saved as draft"
    UNPUBLISHED = "collectionitem.unpublished", "Item unpublished"
    DELETE = "collectionitem.delete", "Item deleted"


# Sent by `ghee webhook test` and the dashboard's "Send test event"; never by a write.
TEST_EVENT = "collectionitem.test"

# A delivery's statuses are the lease machinery's: pending -> running -> succeeded | failed
# (a retry goes back to pending).
DeliveryStatus = LeaseStatus
