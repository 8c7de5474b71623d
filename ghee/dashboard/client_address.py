"""The address a dashboard request came from, for sign-in throttling.

``REMOTE_ADDR`` unless ``GHEE_PROXY_COUNT`` says N proxies stand in front: then each proxy
appended the address it received from to ``X-Forwarded-For``, so the client is the Nth
entry from the right. Entries further left are whatever the client claimed and are never
believed; a header shorter than N (a request that bypassed a proxy) falls back to
``REMOTE_ADDR``.
"""

from django.conf import settings


def client_address(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.GHEE_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
