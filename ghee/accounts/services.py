"""Verbs on organizations, locales and tokens. Each owns its transaction."""

import hashlib
import secrets
from collections.abc import Callable, Sequence

from django.db import transaction
from django.utils import timezone

from ghee.accounts.choices import TokenKind
from ghee.accounts.models import ApiToken, Locale, Organization


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_organization(slug: str, name: str = "", locales: Sequence[str] = ()) -> Organization:
    """Create an organization; the first of ``locales`` is its default locale."""
    org = Organization(slug=slug, name=name or slug)
    org.full_clean()
    org.save()
    for order, code in enumerate(locales):
        locale = Locale(organization=org, code=code, name=code, order=order, is_default=order == 0)
        locale.full_clean()
        locale.save()
    return org


@transaction.atomic
def create_token(organization: Organization, kind: str, name: str = "") -> tuple[ApiToken, str]:
    """Create a token and return it with its clear text, which is never stored."""
    if kind not in TokenKind.values:
        raise ValueError(f"token kind must be one of {', '.join(TokenKind.values)}")
    clear = secrets.token_hex(26)
    token = ApiToken.objects.create(
        organization=organization,
        kind=kind,
        name=name,
        prefix=clear[: ApiToken.PREFIX_LENGTH],
        digest=token_digest(clear),
    )
    return token, clear


def revoke_token(token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


# Apps whose data is shaped by an organization's locales (content: flat values, or values
# by locale) register a check in their AppConfig.ready: "does this organization hold such
# data?". Accounts imports no app above it, so it asks them this way.
_locale_shape_checks: list[Callable[[Organization], bool]] = []


def register_locale_shape_check(check: Callable[[Organization], bool]) -> None:
    _locale_shape_checks.append(check)


def locale_shape_locked(org: Organization) -> bool:
    """True when the organization may no longer switch between no locales and locales."""
    return any(check(org) for check in _locale_shape_checks)
