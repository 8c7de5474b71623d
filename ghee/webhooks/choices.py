from ghee.core import outbox
from ghee.core.leases import LeaseStatus


def wildcard(topic: str) -> str:
    """The subscription to every event of ``topic``, those declared later included."""
    return f"{topic}.all"


def event_choices() -> list[tuple[str, str]]:
    """What an endpoint can subscribe to: each topic's wildcard, then its declared events.

    The names come from the app that records them (``ghee.core.outbox.register_events``;
    for items ButterCMS's collection item events, §12): nothing here copies them.
    """
    choices = []
    for topic in outbox.declared_topics():
        choices.append((wildcard(topic.name), f"Every {topic.label} event"))
        choices += topic.events.items()
    return choices


def event_names() -> list[str]:
    return [name for name, _ in event_choices()]


def wildcard_of(event: str) -> str | None:
    """The wildcard that includes ``event``, if a topic declares it."""
    for topic in outbox.declared_topics():
        if event in topic.events:
            return wildcard(topic.name)
    return None


# Sent by `ghee webhook test` and the dashboard's "Send test event"; never by a write.
TEST_EVENT = "collectionitem.test"

# A delivery's statuses are the lease machinery's: pending -> running -> succeeded | failed
# (a retry goes back to pending).
DeliveryStatus = LeaseStatus
