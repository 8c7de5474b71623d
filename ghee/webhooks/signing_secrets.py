"""Endpoint signing secrets (generated, shown once) and custom header values, encrypted at rest.

A signing secret must be replayed on every delivery, so it cannot be hashed like an API
token. It is encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography``
package) under a key derived from ``GHEE_SECRET_KEY`` with HKDF, so a copy of the database
alone does not reveal it. Keys from ``SECRET_KEY_FALLBACKS`` still decrypt, so the secret
key can be rotated the way Django rotates it; a secret that no key decrypts is an error
that says to rotate the endpoint's secret.

An endpoint's custom headers (often a receiver's credentials) are kept the same way, as one
encrypted JSON object: they too are replayed on every delivery and shown nowhere.
"""

import base64
import json
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"
SECRET_BYTES = 32  # the Standard Webhooks spec asks for 24 to 64 random bytes


class SecretUnreadable(Exception):
    """No configured key decrypts the stored secret (GHEE_SECRET_KEY changed)."""


def generate() -> str:
    """A new ``whsec_<base64>`` secret, as receivers configure it."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def key_bytes(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ghee webhook endpoint secrets"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "the endpoint's signing secret cannot be decrypted (GHEE_SECRET_KEY changed?): "
            "rotate it with `ghee webhook rotate`"
        ) from None


def encrypt_headers(headers: dict[str, str]) -> str:
    """``{name: value}`` as one encrypted text ("" for none)."""
    return encrypt(json.dumps(headers, ensure_ascii=False)) if headers else ""


def decrypt_headers(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretUnreadable(
            "the endpoint's custom header values cannot be decrypted (GHEE_SECRET_KEY "
            "changed?): set them again on the endpoint's dashboard page"
        ) from None
