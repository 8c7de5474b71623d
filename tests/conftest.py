"""Shared fixtures: organizations, tokens, collections, an API client, and a network guard."""

import ipaddress
import socket

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from ghee.accounts.authentication import token_cache
from ghee.accounts.services import add_member, create_organization, create_token
from ghee.content.models import Collection, Field
from ghee.content.read.queries import count_cache
from ghee.content.schema.cache import schema_cache
from tests.webhooks.receiver import Receiver

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock, address):
    if sock.family == socket.AF_UNIX:
        return
    host = address[0]
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        ip = ipaddress.ip_address(socket.gethostbyname(host))
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_loopback:
        raise RuntimeError(f"tests may only connect to loopback, not {address!r}")


def _guarded_connect(self, address):
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address)
    return _real_connect_ex(self, address)


_real_getaddrinfo = socket.getaddrinfo
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def _local_getaddrinfo(host, *args, **kwargs):
    """Resolve only what needs no DNS server: address literals and localhost names. A DNS
    query is traffic too (to the resolver's address); a name like example.com in a test
    fails here as an unknown name, the way it would without a network."""
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None:
        try:
            ipaddress.ip_address(str(name).split("%")[0])
        except ValueError:
            if str(name).lower().rstrip(".") not in LOCAL_NAMES and not str(name).lower().endswith(
                ".localhost"
            ):
                raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no names ({name})")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def loopback_only():
    """Fail any test that tries to reach an address other than loopback, or to ask a DNS
    server for a name."""
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.getaddrinfo = _local_getaddrinfo
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex
    socket.getaddrinfo = _real_getaddrinfo


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Row ids are reused after a test's rollback: per-process caches must not outlive it.
    caches = (token_cache, count_cache, schema_cache)
    for cache in caches:
        cache.clear()
    yield
    for cache in caches:
        cache.clear()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def org(db):
    return create_organization("acme", "Acme")


@pytest.fixture
def org_locales(db):
    return create_organization("globex", "Globex", locales=["en", "es"])


@pytest.fixture
def write_token(org):
    return create_token(org, "write", "test writer")[1]


@pytest.fixture
def read_token(org):
    return create_token(org, "read", "test reader")[1]


def make_collection(organization, key, fields, name="", label=""):
    """A collection with ``fields``: dicts of Field attributes, in order."""
    collection = Collection.objects.create(
        organization=organization, key=key, name=name or key, label_field=label
    )
    for order, spec in enumerate(fields):
        Field.objects.create(collection=collection, order=order, **spec)
    return collection


@pytest.fixture
def team_members(org):
    return make_collection(
        org,
        "team_members",
        [
            {"key": "name", "type": "short_text", "required": True, "max_length": 120},
            {"key": "position", "type": "short_text"},
        ],
        label="name",
    )


@pytest.fixture
def committed(transactional_db):
    """Rows written by the test are committed, so other processes (a worker, a server) see
    them."""
    schema_cache.clear()


def create_body(name: str) -> dict:
    """A write that creates one team member named ``name``."""
    return {"key": "team_members", "status": "published", "fields": [{"name": name}]}


def post_job(api, token, name):
    """Queue a write creating one team member; the API accepted it (202)."""
    response = api.post(
        "/v2/content/", create_body(name), format="json", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 202
    return response


PASSWORD = "a-long-enough-passphrase"


def staff_client(username: str, *organizations) -> tuple[Client, object]:
    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
    user.is_staff = True
    user.save()
    for organization in organizations:
        add_member(user, organization)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def allow_receiver(settings, receiver):
    """The egress policy lets this process reach the receiver (tests only)."""
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.GHEE_EGRESS_ALLOW_PORTS = [receiver.port]
    return receiver
