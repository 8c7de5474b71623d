"""Reading a URL into where to connect and what to send, refusing what must not be fetched."""

import ipaddress
import socket
from urllib.parse import quote, urlsplit

from ghee.core.egress.addresses import (
    IPAddress,
    allowed_networks,
    allowed_ports,
    is_allowed_address,
)
from ghee.core.egress.errors import BadURL, BlockedAddress, ConnectionFailed
from ghee.core.egress.own import is_own_endpoint, is_own_name
from ghee.core.egress.refusals import addresses_refused, port_refused

DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 6761: these names are the local host whatever DNS says, so they never reach a resolver.
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain")
_LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")
OWN_ADDRESS = "ghee's own address (no setting allows a fetch from ghee itself)"


class Target:
    """One parsed, policy-checked URL: where to connect and what to say there."""

    def __init__(self, url: str):
        self.url = url
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
            # A backslash is where URL parsers disagree (urllib vs urllib3 vs browsers).
            raise BadURL("bad URL: it contains whitespace, a control character or a backslash")
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        if self.scheme not in DEFAULT_PORTS:
            raise BadURL("bad URL: only http and https URLs can be fetched")
        if "@" in parts.netloc:
            raise BadURL("bad URL: URLs with a user name or password are not fetched")
        try:
            port = parts.port
        except ValueError:
            raise BadURL("bad URL: the port is not a number from 0 to 65535") from None
        self.port = DEFAULT_PORTS[self.scheme] if port is None else port
        self.host, self.literal = _parse_host(parts.netloc)
        if self.port not in allowed_ports():
            raise port_refused(self.port, self.host, self._refused(self._known_addresses()))
        self.path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
        if parts.query:
            self.path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
        default_port = self.port == DEFAULT_PORTS[self.scheme]
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = bracketed if default_port else f"{bracketed}:{self.port}"

    def addresses(self) -> list[IPAddress]:
        """Resolve once and return the addresses, refusing if any one is not allowed, or
        if the URL leads back to ghee itself (``own.py``)."""
        if self.literal is None and is_own_name(self.host):
            raise BlockedAddress(f"blocked address: {self.host} is {OWN_ADDRESS}")
        found = self._known_addresses()
        if not found:
            try:
                found = [ipaddress.ip_address(a) for a in resolve_host(self.host, self.port)]
            except (OSError, UnicodeError, ValueError):
                raise ConnectionFailed(f"could not resolve {self.host}") from None
            if not found:
                raise ConnectionFailed(f"could not resolve {self.host}")
        refused = self._refused(found)
        if refused:
            raise addresses_refused(self.host, self.literal is not None, refused, len(found))
        if any(is_own_endpoint(ip, self.port, resolve_host) for ip in found):
            raise BlockedAddress(f"blocked address: {self.host} is {OWN_ADDRESS}")
        return found

    def _known_addresses(self) -> list[IPAddress]:
        """The host's addresses when they are known without DNS: a literal, ``localhost``."""
        if self.literal is not None:
            return [self.literal]
        if self.host in _LOOPBACK_NAMES or self.host.endswith(".localhost"):
            return [ipaddress.ip_address(a) for a in _LOOPBACK_ADDRESSES]
        return []

    @staticmethod
    def _refused(found: list[IPAddress]) -> list[IPAddress]:
        networks = allowed_networks()
        return [ip for ip in found if not is_allowed_address(ip, networks)]


def _parse_host(netloc: str) -> tuple[str, IPAddress | None]:
    """The host as ASCII text (for Host and SNI), and the address if it is a literal.

    Every numeric spelling C's inet_aton accepts (``127.1``, ``0x7f.1``, ``2130706433``,
    ``0177.0.0.1``) is read as the IPv4 address it means, as browsers do, so it never becomes
    a DNS query. Unicode hosts go through IDNA, which also maps ``①②⑦`` to ``127``.
    """
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        inside, _, rest = hostport[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise BadURL("bad URL: malformed IPv6 address")
        try:
            ip = ipaddress.IPv6Address(inside.replace("%25", "%"))
        except ValueError:
            raise BadURL("bad URL: malformed IPv6 address") from None
        return str(ip).split("%", 1)[0], ip
    name = hostport.rsplit(":", 1)[0] if ":" in hostport else hostport
    if not name:
        raise BadURL("bad URL: there is no host")
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise BadURL("bad URL: the host name is not valid") from None
    name = name.removesuffix(".")
    labels = name.split(".")
    if not name or not all(label and _is_hostname_label(label) for label in labels):
        raise BadURL("bad URL: the host name is not valid")
    last = labels[-1]
    if last.isdigit() or (last.startswith("0x") and _is_hex(last[2:])):
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            raise BadURL("bad URL: the host is not a valid IPv4 address") from None
        return str(ip), ip
    return name, None


def _is_hostname_label(label: str) -> bool:
    return (
        len(label) <= 63
        and not label.startswith("-")
        and not label.endswith("-")
        and all(ch.isalnum() or ch in "-_" for ch in label)
    )


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdef" for ch in text)


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order (tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))
