"""Custom header values are encrypted at rest like the signing secret (issue 20 item 7):
``headers`` (JSON in clear) becomes ``headers_encrypted``, existing rows encrypted on the way."""

import json

from django.db import migrations, models


def encrypt_existing(apps, schema_editor):
    from ghee.webhooks.signing_secrets import encrypt_headers

    Endpoint = apps.get_model("webhooks", "Endpoint")
    for endpoint in Endpoint.objects.only("pk", "headers").iterator():
        headers = endpoint.headers
        if isinstance(headers, str):  # JSON stored as a string by hand
            headers = json.loads(headers)
        if not headers:
            continue
        Endpoint.objects.filter(pk=endpoint.pk).update(
            headers_encrypted=encrypt_headers({str(k): str(v) for k, v in headers.items()})
        )


def decrypt_existing(apps, schema_editor):
    from ghee.webhooks.signing_secrets import decrypt_headers

    Endpoint = apps.get_model("webhooks", "Endpoint")
    for endpoint in Endpoint.objects.exclude(headers_encrypted="").iterator():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            headers=decrypt_headers(endpoint.headers_encrypted)
        )


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="endpoint",
            name="headers_encrypted",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
        migrations.RemoveField(model_name="endpoint", name="headers"),
    ]
