"""An endpoint's custom headers: encrypted at rest like its signing secret (issue 20 item 7),
read back in clear by the sending code through ``Endpoint.headers``, and encrypted by the
migration that introduced the encryption."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ghee.webhooks import sending, services, signing_secrets
from ghee.webhooks.models import Endpoint
from tests.webhooks.conftest import add_endpoint


def stored_row(endpoint) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {Endpoint._meta.db_table} WHERE id = %s",
            [endpoint.pk],
        )
        return repr(cursor.fetchone())


def test_header_values_are_encrypted_at_rest_and_sent_in_clear(org, allow_receiver):
    receiver = allow_receiver
    endpoint, _ = add_endpoint(
        org, receiver.hook("/in"), headers={"Authorization": "Bearer tok-1234567890"}
    )
    row = stored_row(endpoint)
    assert "tok-1234567890" not in row and "Authorization" not in row
    endpoint = Endpoint.objects.get()
    assert endpoint.headers == {"Authorization": "Bearer tok-1234567890"}

    services.send_test_event(endpoint)
    lease, claimed = sending.claim(5)
    assert sending.deliver(lease, claimed[0]) == "succeeded"
    (request,) = receiver.at("/in")
    assert request.headers["authorization"] == "Bearer tok-1234567890"


def test_an_unreadable_header_text_says_what_to_do(org, settings):
    endpoint, _ = add_endpoint(org, "https://hooks.example.com/in", headers={"X-Key": "k"})
    settings.SECRET_KEY = "another key entirely, long enough for Django"
    with pytest.raises(signing_secrets.SecretUnreadable, match="set them again"):
        Endpoint.objects.get(pk=endpoint.pk).headers


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_header_values(org):
    executor = MigrationExecutor(connection)
    executor.migrate([("webhooks", "0001_initial")])
    try:
        old_apps = executor.loader.project_state([("webhooks", "0001_initial")]).apps
        OldEndpoint = old_apps.get_model("webhooks", "Endpoint")
        plain = OldEndpoint.objects.create(
            organization_id=org.pk,
            url="https://hooks.example.com/in",
            events=["collectionitem.all"],
            headers={"X-Key": "old-plain-value"},
            secret_encrypted=signing_secrets.encrypt(signing_secrets.generate()),
        )
        none = OldEndpoint.objects.create(
            organization_id=org.pk,
            url="https://hooks.example.com/none",
            events=["collectionitem.all"],
            secret_encrypted=signing_secrets.encrypt(signing_secrets.generate()),
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert "old-plain-value" not in stored_row(plain)
    assert Endpoint.objects.get(pk=plain.pk).headers == {"X-Key": "old-plain-value"}
    assert Endpoint.objects.get(pk=none.pk).headers == {}
