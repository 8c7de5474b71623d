"""``ghee demo``: on first run, a ``demo`` organization with tokens, collections and curl
examples; on later runs, a reminder that it exists (tokens cannot be shown again)."""

import json
import shlex

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ghee.accounts.models import Organization
from ghee.accounts.services import create_organization, create_token
from ghee.cli import printed_command
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


def _shell_word(text: str) -> str:
    """``text`` quoted for a shell; double quotes when it names a variable ($WRITE)."""
    return f'"{text}"' if "$" in text else shlex.quote(text)


def curl_examples(write_token: str, read_token: str) -> str:
    """Ready-to-paste commands; the tokens may be shell variables (``$WRITE``)."""
    base = settings.PUBLIC_URL
    body = json.dumps(DEMO_ITEM)
    return "\n".join(
        [
            "",
            'Create a team member (answers 202 {"status": "pending"}; the worker writes it):',
            "",
            f"  curl -X POST {base}/v2/content/ \\",
            f"    -H {_shell_word(f'Authorization: Token {write_token}')} \\",
            "    -H 'Content-Type: application/json' \\",
            f"    -d {shlex.quote(body)}",
            "",
            "Read the collection:",
            "",
            f"  curl {_shell_word(f'{base}/v2/content/team_members/?auth_token={read_token}')}",
        ]
    )


class Command(GheeCommand):
    help = "Create the demo organization, its tokens and collections (first run only)."

    def handle(self, *args, **options):
        existing = Organization.objects.filter(slug=DEMO_SLUG).first()
        ghee = printed_command()
        if existing is not None:
            self.stdout.write(
                f"The demo organization exists (created "
                f"{timezone.localtime(existing.created_at):%Y-%m-%d %H:%M}). Its tokens were "
                "printed when it was created and cannot be shown again; make new ones with\n\n"
                f"  WRITE=$({ghee} token create --org {DEMO_SLUG} --kind write)\n"
                f"  READ=$({ghee} token create --org {DEMO_SLUG} --kind read)\n"
            )
            self.stdout.write(curl_examples("$WRITE", "$READ"))
            self.footer(ghee)
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
            f"`{ghee} token create --org {DEMO_SLUG} --kind read` (or --kind write).\n"
        )
        self.stdout.write(curl_examples(write, read))
        self.footer(ghee)

    def footer(self, ghee: str) -> None:
        self.stdout.write(
            f"\nDashboard: {settings.PUBLIC_URL}/admin/ (make a login, in another terminal "
            f"in this directory: `{ghee} createsuperuser`)\n"
            f"All commands: `{ghee} --help`. Start page: {settings.PUBLIC_URL}/"
        )
