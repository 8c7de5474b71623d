"""``ghee demo``: on first run, a ``demo`` organization with tokens, collections and curl
examples; on later runs (every ``make run`` after the first), a short reminder that it
exists with only what is still useful: how to get a token again (tokens cannot be shown
twice), the read curl, the create curl only while the demo has had no write, and the
``createsuperuser`` hint only while nobody can sign in to the dashboard."""

import json
import shlex

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ghee.accounts.models import Organization
from ghee.accounts.services import create_organization, create_token
from ghee.cli import printed_command
from ghee.content.models import Job
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


def create_example(write_token: str) -> str:
    """The curl that creates Ada Lovelace; the token may be a shell variable (``$WRITE``)."""
    body = json.dumps(DEMO_ITEM)
    return "\n".join(
        [
            "",
            'Create a team member (answers 202 {"status": "pending"}; the worker writes it):',
            "",
            f"  curl -X POST {settings.PUBLIC_URL}/v2/content/ \\",
            f"    -H {_shell_word(f'Authorization: Token {write_token}')} \\",
            "    -H 'Content-Type: application/json' \\",
            f"    -d {shlex.quote(body)}",
        ]
    )


def read_example(read_token: str) -> str:
    url = f"{settings.PUBLIC_URL}/v2/content/team_members/?auth_token={read_token}"
    return "\n".join(["", "Read the collection:", "", f"  curl {_shell_word(url)}"])


def curl_examples(write_token: str, read_token: str) -> str:
    """Ready-to-paste commands; the tokens may be shell variables (``$WRITE``)."""
    return create_example(write_token) + "\n" + read_example(read_token)


def someone_can_sign_in() -> bool:
    """Is there an active dashboard user with a password (else: `ghee createsuperuser`)?"""
    users = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True), is_active=True)
    return users.exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX).exists()


class Command(GheeCommand):
    help = "Create the demo organization, its tokens and collections (first run only)."

    def handle(self, *args, **options):
        existing = Organization.objects.filter(slug=DEMO_SLUG).first()
        ghee = printed_command()
        if existing is not None:
            self.remind(existing, ghee)
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

    def remind(self, org: Organization, ghee: str) -> None:
        """The demo exists: what is still useful on this run, nothing created twice."""
        written = Job.objects.filter(organization=org).exists()
        kinds = ["read"] if written else ["write", "read"]
        created = f"{timezone.localtime(org.created_at):%Y-%m-%d %H:%M}"
        self.stdout.write(
            f"The demo organization exists (created {created}); nothing was created now. Its "
            "tokens were printed on the first run and cannot be shown again; make "
            f"{'one' if written else 'new ones'} with\n\n"
            + "".join(
                f"  {kind.upper()}=$({ghee} token create --org {DEMO_SLUG} --kind {kind})\n"
                for kind in kinds
            )
        )
        if not written:
            self.stdout.write(create_example("$WRITE"))
        self.stdout.write(read_example("$READ"))
        self.footer(ghee)

    def footer(self, ghee: str) -> None:
        login = (
            ""
            if someone_can_sign_in()
            else f" (make a login, in another terminal in this directory: `{ghee} createsuperuser`)"
        )
        self.stdout.write(
            f"\nDashboard: {settings.PUBLIC_URL}/admin/{login}\n"
            f"All commands: `{ghee} --help`. Start page: {settings.PUBLIC_URL}/"
        )
