"""Webhook endpoints pointing at the test receiver (tests/webhooks/receiver.py; its
``receiver`` and ``allow_receiver`` fixtures are in tests/conftest.py), and worker settings."""

from ghee.webhooks import services
from tests.webhooks.receiver import Receiver


def worker_env(receiver: Receiver, **extra) -> dict:
    """Settings for a `ghee worker` subprocess that may reach the receiver, retrying fast."""
    return {
        "GHEE_EGRESS_ALLOW_NETWORKS": "127.0.0.0/8",
        "GHEE_EGRESS_ALLOW_PORTS": receiver.port,
        "GHEE_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2,0.2",
        "GHEE_WEBHOOK_RETRY_JITTER": "0",
        **extra,
    }


def add_endpoint(organization, url: str, events="collectionitem.all", **kwargs):
    """An endpoint and its clear secret, through the service the CLI and dashboard use."""
    return services.create_endpoint(organization, url, events, **kwargs)
