"""ButterCMS's token rules as DRF authentication and permission classes.

- Read requests (GET, HEAD, OPTIONS) take a read or write token, as ``?auth_token=`` or
  ``Authorization: Token <t>``.
- Write requests take a write token, in the header only. A read token, or a token in the
  query string, on a write counts as no credentials at all (ButterCMS answers 401
  "Authentication credentials were not provided." there, not 403).
- An unknown or revoked token is 401 "Invalid token." with ``WWW-Authenticate: Token``.
"""

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission

from ghee.accounts.models import ApiToken
from ghee.accounts.services import token_digest
from ghee.core.cache import TtlCache

KEYWORD = b"token"
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenPrincipal:
    """What ``request.user`` is on the API: the organization a token speaks for."""

    token: ApiToken

    is_authenticated = True
    is_anonymous = False

    @property
    def organization(self):
        return self.token.organization

    @property
    def organization_id(self) -> int:
        return self.token.organization_id


def _load_token(prefix: str) -> ApiToken | None:
    return (
        ApiToken.objects.select_related("organization")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )


class TokenCache:
    """Active token rows by prefix, per process, so the hot path does no query.

    Entries live ``GHEE_TOKEN_CACHE_SECONDS``; a revoked token stops working everywhere
    within that time.
    """

    def __init__(self) -> None:
        self._cache: TtlCache[ApiToken] = TtlCache("GHEE_TOKEN_CACHE_SECONDS")

    def get(self, prefix: str) -> ApiToken | None:
        return self._cache.get(prefix, lambda _previous: _load_token(prefix))

    def clear(self) -> None:
        self._cache.clear()


token_cache = TokenCache()


def find_token(clear: str) -> ApiToken | None:
    """The active token whose clear text is ``clear``, or None."""
    if len(clear) <= ApiToken.PREFIX_LENGTH or len(clear) > 200:
        return None
    token = token_cache.get(clear[: ApiToken.PREFIX_LENGTH])
    if token is None or not hmac.compare_digest(token.digest, token_digest(clear)):
        return None
    return token


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        clear = self._header_token(request)
        if clear is None and request.method in SAFE_METHODS:
            clear = request.query_params.get("auth_token") or None
        if clear is None:
            return None
        token = find_token(clear)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        _touch(token)
        return TokenPrincipal(token), token

    def authenticate_header(self, request) -> str:
        return "Token"

    @staticmethod
    def _header_token(request) -> str | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) == 1:
            raise exceptions.AuthenticationFailed("Invalid token header. No credentials provided.")
        if len(parts) > 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header. Token string should not contain spaces."
            )
        try:
            return parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(
                "Invalid token header. Token string should not contain invalid characters."
            ) from exc


class HasTokenForMethod(BasePermission):
    """Reads need any token of the organization; writes need a write token."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated()
        if request.method not in SAFE_METHODS and not token.can_write:
            raise exceptions.NotAuthenticated()
        return True
