"""HTTP ``Retry-After`` as seconds: the one parser of the answers ghee gets back (media
downloads, webhook receivers, an import's source).

RFC 9110 allows a number of seconds or an HTTP date. Anything else, a date in the past, or
nothing at all counts as 0; the caller's ``cap`` bounds what a remote server may ask for.
"""

from email.utils import parsedate_to_datetime

from django.utils import timezone


def retry_after_seconds(value: str | None, cap: float) -> float:
    if not value:
        return 0.0
    value = value.strip()
    try:
        seconds = (
            float(value)
            if value.isdigit()
            else (parsedate_to_datetime(value) - timezone.now()).total_seconds()
        )
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return min(max(seconds, 0.0), cap)
