"""Standard Webhooks signatures (https://www.standardwebhooks.com/, spec v1).

A pure function, like NetBox's ``generate_signature``: the signature is HMAC-SHA256 of
``"{webhook-id}.{webhook-timestamp}.{body}"`` under the secret's key, base64, sent as
``v1,<signature>``; several signatures (a rotation's old and new secret) are separated by
spaces, and a receiver accepts the message if any one matches. The tests verify what this
module signs with the ``standardwebhooks`` library, as a receiver would.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable

from ghee.webhooks.signing_secrets import key_bytes


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` with a ``whsec_`` secret."""
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    digest = hmac.new(key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(keys: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in keys)


def headers(keys: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(keys, message_id, timestamp, body),
    }
