"""``ghee user add|list|remove``: dashboard users and the organizations they work in.

A staff user sees only the organizations they are a member of (docs/dashboard.md);
superusers (``ghee createsuperuser``) see all and need no membership.
"""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db.models import Q

from ghee.accounts.management.base import organization_named
from ghee.accounts.services import add_member, create_staff_user, remove_member
from ghee.core.management.base import GheeCommand


class Command(GheeCommand):
    help = "Add dashboard users to organizations, list them, remove them."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser(
            "add",
            help="Make EMAIL a staff member of the organizations (creates the user if new).",
        )
        add.add_argument("email", help="the address the user signs in with")
        add.add_argument(
            "--org", action="append", required=True, help="organization slug (repeatable)"
        )
        add.add_argument("--name", default="", help='full name, e.g. "Jane Doe" (new users)')
        add.add_argument(
            "--password-stdin",
            action="store_true",
            help="read a new user's password from standard input (else: asked on a terminal)",
        )
        listing = actions.add_parser("list", help="List dashboard users and their organizations.")
        listing.add_argument("--org", help="only the members of this organization")
        remove = actions.add_parser("remove", help="End EMAIL's membership of an organization.")
        remove.add_argument("email")
        remove.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, action, **options):
        if action == "add":
            self.add(options["email"], options["org"], options["name"], options["password_stdin"])
        elif action == "list":
            self.list(options["org"])
        else:
            self.remove(options["email"], options["org"])

    def add(self, email: str, slugs: list[str], name: str, password_stdin: bool) -> None:
        organizations = [organization_named(slug) for slug in slugs]
        user = _find_user(email)
        if user is None:
            password = _new_password(password_stdin)
            user = create_staff_user(email, password, name)
            note = "" if password else f" It has no password yet: `ghee changepassword {email}`."
            self.stdout.write(f"Created staff user {email}.{note}")
        for organization in organizations:
            if add_member(user, organization):
                self.stdout.write(f"{email} is now a member of {organization.slug}.")
            else:
                self.stdout.write(f"{email} was already a member of {organization.slug}.")

    def list(self, slug: str | None) -> None:
        users = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True))
        if slug:
            users = users.filter(memberships__organization=organization_named(slug))
        users = users.prefetch_related("memberships__organization").order_by("username")
        rows = [("USER", "NAME", "ROLE", "ORGANIZATIONS", "LAST SIGN-IN")]
        for user in users:
            orgs = ",".join(m.organization.slug for m in user.memberships.all())
            rows.append(
                (
                    user.get_username(),
                    user.get_full_name() or "-",
                    "superuser" if user.is_superuser else "staff",
                    "(all)" if user.is_superuser else orgs or "(none: sees nothing)",
                    f"{user.last_login:%Y-%m-%d %H:%M}" if user.last_login else "-",
                )
            )
        if len(rows) == 1:
            self.stdout.write("No dashboard users yet: `ghee user add EMAIL --org SLUG`.")
            return
        self.write_table(rows)

    def remove(self, email: str, slug: str) -> None:
        organization = organization_named(slug)
        user = _find_user(email)
        if user is None:
            raise CommandError(f"no user {email!r} (see `ghee user list`)")
        if remove_member(user, organization):
            self.stdout.write(f"{email} is no longer a member of {organization.slug}.")
        else:
            self.stdout.write(f"{email} was not a member of {organization.slug}.")


def _find_user(email: str):
    users = get_user_model().objects
    return users.filter(username=email).first() or users.filter(email__iexact=email).first()


def _new_password(from_stdin: bool) -> str | None:
    """The new user's password: standard input, a terminal prompt, or none."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CommandError("--password-stdin: standard input held no password")
        return password
    if not sys.stdin.isatty():
        return None
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise CommandError("the two passwords differ")
    return password or None
