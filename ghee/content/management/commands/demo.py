"""``ghee demo``: on first run, a ``demo`` organization with tokens, collections and curl
examples; on later runs, a reminder that it exists (tokens cannot be shown again)."""

import json
import shlex

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ghee.accounts.models import Organization
from ghee.accounts.services import create_organization, create_token
from ghee.content.schema.services import apply_schema
from ghee.core.management.base import GheeCommand

DEMO_SLUG = "demo"
DEMO_SCHEMA = {
    "collections": [
        {
            "key": "departments",
            "label": "name",
            "fields": [{"key": "name", "type": "short_text", "required": True}],
        },
        {
            "key": "team_members",
            "name": "Team Members",
            "label": "name",
            "fields": [
                {"key": "name", "type": "short_text", "required": True, "max_length": 120},
                {"key": "position", "type": "short_text"},
                {"key": "email", "type": "short_text", "pattern": "email"},
                {"key": "photo", "type": "media"},
                {"key": "level", "type": "dropdown", "choices": ["junior", "senior"]},
                {"key": "department", "type": "reference", "to": "departments", "many": False},
            ],
        },
    ]
}
DEMO_ITEM = {
    "key": "team_members",
    "status": "published",
    "fields": [
        {
            "name": "Ada Lovelace",
            "position": "Engineer",
            "email": "ada@example.com",
            "level": "senior",
        }
    ],
}


def curl_examples(write_token: str, read_token: str) -> str:
    base = settings.PUBLIC_URL
    body = json.dumps(DEMO_ITEM)
    return "\n".join(
        [
            'Create a team member (answers 202 {"status": "pending"}; the worker writes it):',
            "",
            f"  curl -X POST {base}/v2/content/ \\",
            f"    -H {shlex.quote(f'Authorization: Token {write_token}')} \\",
            "    -H 'Content-Type: application/json' \\",
            f"    -d {shlex.quote(body)}",
            "",
            "Read the collection:",
            "",
            f"  curl {shlex.quote(f'{base}/v2/content/team_members/?auth_token={read_token}')}",
        ]
    )


class Command(GheeCommand):
    help = "Create the demo organization, its tokens and collections (first run only)."

    def handle(self, *args, **options):
        existing = Organization.objects.filter(slug=DEMO_SLUG).first()
        if existing is not None:
            self.stdout.write(
                f"The demo organization exists (created "
                f"{timezone.localtime(existing.created_at):%Y-%m-%d %H:%M}). Its tokens were "
                "printed when it was created and cannot be shown again; make a new one with\n\n"
                f"  ghee token create --org {DEMO_SLUG} --kind write\n"
                f"  ghee token create --org {DEMO_SLUG} --kind read\n"
            )
            self.stdout.write(curl_examples("<write token>", "<read token>"))
            self.footer()
            return

        with transaction.atomic():
            org = create_organization(DEMO_SLUG, "Demo")
            write = create_token(org, "write", "demo writer")[1]
            read = create_token(org, "read", "demo reader")[1]
            apply_schema(org, DEMO_SCHEMA)
        self.stdout.write(
            "Created the demo organization with the collections team_members and departments.\n"
            "\n"
            f"  write token: {write}\n"
            f"  read token:  {read}\n"
            "\n"
            "These tokens are shown only now. Make more with "
            f"`ghee token create --org {DEMO_SLUG} --kind read|write`.\n"
        )
        self.stdout.write(curl_examples(write, read))
        self.footer()

    def footer(self) -> None:
        self.stdout.write(
            f"\nDashboard: {settings.PUBLIC_URL}/admin/ (make a login with `ghee createsuperuser`)"
        )
