"""What can go wrong when fetching a URL; each message can be shown to whoever gave the URL."""


class EgressError(Exception):
    """A fetch that did not succeed. ``str(exc)`` says why in words a client can act on."""

    retryable = False


class BadURL(EgressError):
    pass


class BlockedAddress(EgressError):
    pass


class TooLarge(EgressError):
    pass


class TooManyRedirects(EgressError):
    pass


class BadResponse(EgressError):
    """The server answered something that is not valid HTTP (or not decodable)."""


class TimedOut(EgressError):
    retryable = True


class ConnectionFailed(EgressError):
    retryable = True


class TLSFailed(ConnectionFailed):
    """The certificate does not match the host name or is not trusted: retrying won't help."""

    retryable = False


class HTTPStatusError(EgressError):
    """A final response that is not a success; 408, 425, 429 and 5xx may succeed later."""

    def __init__(self, status: int, host: str, retry_after: str | None = None):
        super().__init__(f"HTTP {status} from {host}")
        self.status = status
        self.host = host
        self.retry_after = retry_after
        self.retryable = status in (408, 425, 429) or status >= 500
