"""What the commands that take ``--org SLUG`` share."""

from django.core.management.base import CommandError

from ghee.accounts.models import Organization


def organization_named(slug: str) -> Organization:
    """The organization with that slug, or a CommandError that says how to find one."""
    try:
        return Organization.objects.get(slug=slug)
    except Organization.DoesNotExist:
        raise CommandError(
            f"no organization {slug!r} (see `ghee org list`, or `ghee org create {slug}`)"
        ) from None
