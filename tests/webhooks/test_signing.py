"""Signatures as the Standard Webhooks spec defines them, checked by its own library; and
secrets kept encrypted at rest."""

import base64
from datetime import UTC, datetime

import pytest
import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from ghee.webhooks import services, signing, signing_secrets
from ghee.webhooks.models import Endpoint
from tests.webhooks.conftest import add_endpoint


def test_the_specs_test_vector():
    """reliability-security.md §3.1, from the spec's own library tests."""
    assert (
        signing.sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@given(body=st.binary(max_size=300).map(lambda b: b.hex().encode()))
def test_what_ghee_signs_the_library_verifies(body):
    secret = signing_secrets.generate()
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers([secret], "msg_abc", now, body)
    standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
    # ... and only with that secret, and only those bytes.
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing_secrets.generate()).verify(body, headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body + b" ", headers)


def test_during_a_rotation_both_secrets_sign():
    old, new = signing_secrets.generate(), signing_secrets.generate()
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers([new, old], "msg_1", now, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(b"{}", headers, json_parse=False)


def test_generated_secrets_are_whsec_and_32_random_bytes():
    secrets = {signing_secrets.generate() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_message_ids_have_no_dot():
    assert all("." not in services.new_message_id() for _ in range(200))


def test_the_secret_is_stored_encrypted_and_decrypts(org):
    endpoint, secret = add_endpoint(org, "https://hooks.example/in")
    stored = Endpoint.objects.get(pk=endpoint.pk)
    assert secret not in stored.secret_encrypted
    assert secret.removeprefix("whsec_") not in stored.secret_encrypted
    assert services.signing_keys(stored) == [secret]


def test_a_changed_secret_key_is_reported_and_fallback_keys_still_decrypt(org, settings):
    endpoint, secret = add_endpoint(org, "https://hooks.example/in")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another key entirely, long enough to be a key"
    with pytest.raises(signing_secrets.SecretUnreadable, match="ghee webhook rotate"):
        services.signing_keys(endpoint)
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert services.signing_keys(endpoint) == [secret]


def test_rotation_keeps_the_old_secret_for_the_grace_period_only(org):
    endpoint, old = add_endpoint(org, "https://hooks.example/in")
    new = services.rotate_secret(endpoint, grace_hours=1)
    assert services.signing_keys(endpoint) == [new, old]
    later = endpoint.previous_secret_expires_at.replace(year=2100)
    assert services.signing_keys(endpoint, now=later) == [new]
    newest = services.rotate_secret(endpoint, grace_hours=0)
    assert services.signing_keys(endpoint) == [newest]
