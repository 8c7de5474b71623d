"""ButterCMS's token rules, as one function the /v2/ endpoint layer calls (``authenticate``).

- Reads (``Access.READ``: GET/HEAD on content) take a read or write token, as
  ``?auth_token=`` or ``Authorization: Token <t>``.
- Writes, and the job resource (``Access.WRITE``), take a write token, in the header only.
  A read token, or a token in the query string, counts as no credentials at all (ButterCMS
  answers 401 "Authentication credentials were not provided." there, not 403).
- An unknown or revoked token is 401 "Invalid token." (the endpoint layer adds
  ``WWW-Authenticate: Token`` to every 401); a malformed ``Authorization: Token`` header
  gets DRF's messages, as ButterCMS (a DRF service) answers.
- Conflicting credentials are 401 "Invalid token.", never "the last one wins": two
  different ``auth_token`` values in one query string, or (on a read) a header token and a
  different query token. The same token twice is fine.
- Only headers and the query string are looked at: a write's 401 is decided before its
  body is read (docs/api-layer.md, "Limits and slow clients").
"""

import hmac
from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions

from ghee.accounts.models import ApiToken
from ghee.accounts.services import token_digest
from ghee.core.api import Access
from ghee.core.cache import TtlCache
from ghee.core.db_health import best_effort

KEYWORD = b"token"
LAST_USED_RESOLUTION = timedelta(seconds=60)


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
    """Record use, at most once a minute per process: not a write per request."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        with best_effort():  # never makes a read wait for SQLite's write lock
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def authenticate(request, access: Access) -> ApiToken:
    """The token a Django ``request`` carries for ``access``, or a 401 (DRF exception)."""
    clear = _header_token(request)
    if access is Access.READ:
        clear = _one_token(clear, request.GET.getlist("auth_token"))
    if clear is None:
        raise exceptions.NotAuthenticated()
    token = find_token(clear)
    if token is None:
        raise exceptions.AuthenticationFailed("Invalid token.")
    if access is Access.WRITE and not token.can_write:
        raise exceptions.NotAuthenticated()
    _touch(token)
    return token


def _one_token(header: str | None, query: list[str]) -> str | None:
    """The one token given by the header and the query's ``auth_token`` values; 401 when
    they disagree."""
    given = {value for value in query if value}
    if header is not None:
        given.add(header)
    if len(given) > 1:
        raise exceptions.AuthenticationFailed("Invalid token.")
    return given.pop() if given else None


def _header_token(request) -> str | None:
    """The token of an ``Authorization: Token <t>`` header (keyword in any case), or None."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    # WSGI headers are latin-1 text; split as bytes, as DRF does (ASCII whitespace only).
    parts = header.encode("latin-1", errors="replace").split()
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
