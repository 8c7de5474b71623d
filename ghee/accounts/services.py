"""Verbs on organizations, locales, tokens and memberships. Each owns its transaction."""

import hashlib
import secrets
from collections.abc import Callable, Sequence

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from ghee.accounts.choices import TokenKind
from ghee.accounts.models import ApiToken, Locale, Membership, Organization


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


def organization_ids_of(user) -> frozenset[int]:
    """The organizations a dashboard user works in (superusers: see ``is_superuser``)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    return frozenset(
        Membership.objects.filter(user_id=user.pk).values_list("organization_id", flat=True)
    )


@transaction.atomic
def add_member(user, organization: Organization) -> bool:
    """Make ``user`` a staff member of ``organization``; False if they already were.

    A member must be able to sign in to the dashboard, so the user is made staff too.
    """
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    _, created = Membership.objects.get_or_create(user=user, organization=organization)
    return created


def remove_member(user, organization: Organization) -> bool:
    """End ``user``'s membership of ``organization``; False if there was none."""
    deleted, _ = Membership.objects.filter(user=user, organization=organization).delete()
    return bool(deleted)


@transaction.atomic
def create_staff_user(email: str, password: str | None, name: str = ""):
    """A dashboard user who signs in with their email address.

    ``password`` is checked by ``AUTH_PASSWORD_VALIDATORS`` (a ValidationError says why);
    None leaves the account without a usable password until one is set
    (``ghee changepassword EMAIL``).
    """
    User = get_user_model()
    first, _, last = name.strip().partition(" ")
    user = User(username=email, email=email, first_name=first, last_name=last.strip())
    user.is_staff = True
    user.full_clean(exclude=["password"])
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
    user.save()
    return user


# Apps whose data is shaped by an organization's locales (content: flat values, or values
# by locale) register a check in their AppConfig.ready: "does this organization hold such
# data?". Accounts imports no app above it, so it asks them this way.
_locale_shape_checks: list[Callable[[Organization], bool]] = []


def register_locale_shape_check(check: Callable[[Organization], bool]) -> None:
    _locale_shape_checks.append(check)


def locale_shape_locked(org: Organization) -> bool:
    """True when the organization may no longer switch between no locales and locales."""
    return any(check(org) for check in _locale_shape_checks)
