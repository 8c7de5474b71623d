"""ghee's one settings module: everything comes from the environment with safe defaults.

The embedded default needs nothing installed: SQLite and media under ``GHEE_DATA_DIR``
(``./var``). ``DATABASE_URL`` switches to PostgreSQL with no code change. Every variable is
read through ghee.core.env (unset: the default; empty or malformed: ghee does not start) and
listed in docs/configuration.md. Each topic's variables are read in one block below.
"""

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

from ghee.core import env

# --- Where things are, and the address ghee answers at -------------------------------------

DATA_DIR = env.path("GHEE_DATA_DIR", "var")


def _secret_key() -> str:
    """GHEE_SECRET_KEY, or a key generated once and kept in the data directory."""
    if key := env.string("GHEE_SECRET_KEY", "", expected="a secret key"):
        return key
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def public_url_for_bind(bind: str) -> str:
    """``http://HOST:PORT`` for ``HOST:PORT``, ``[IPv6]:PORT`` or ``PORT``."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (a wildcard bind: reached at 127.0.0.1)
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _check_bind(bind: str) -> None:
    port = bind.rpartition(":")[2]
    if not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(bind)


def _check_http_url(url: str) -> None:
    if not url.startswith(("http://", "https://")) or len(url.rstrip("/")) <= len("https://"):
        raise ValueError(url)


SECRET_KEY = _secret_key()
DEBUG = env.boolean("GHEE_DEBUG")
# `ghee serve --bind`'s default; GHEE_PUBLIC_URL, when not set, is this address as a browser
# on this machine reaches it (a wildcard host becomes 127.0.0.1).
GHEE_BIND = env.string(
    "GHEE_BIND",
    "127.0.0.1:8000",
    expected="HOST:PORT or PORT, e.g. 127.0.0.1:8000",
    check=_check_bind,
)
_url_form = "an http:// or https:// URL, e.g. https://cms.example.org"
PUBLIC_URL = env.string(
    "GHEE_PUBLIC_URL", public_url_for_bind(GHEE_BIND), expected=_url_form, check=_check_http_url
).rstrip("/")
ALLOWED_HOSTS = env.items("GHEE_ALLOWED_HOSTS", ["*"], expected="comma-separated host names")
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

# --- Django: apps, middleware, templates ----------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ghee.core",
    "ghee.accounts",
    "ghee.webhooks",
    "ghee.content",
    "ghee.dashboard",
    "ghee.imports",
    "axes",  # sign-in throttling, below
    "ghee.media",
    # The WYSIWYG editor's built assets (ProseMirror/Tiptap) as static files; the item form
    # loads them (ghee/content/static/content/wysiwyg.js).
    "django_prose_editor",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ghee.core.middleware.ApiTrailingSlashMiddleware",
    # Media responses serve byte ranges of the stored bytes: gzip must leave them alone.
    "ghee.media.middleware.RangeAwareGZipMiddleware",
    # Sessions, CSRF, session users and messages serve the dashboard; skipped on /v2/.
    "ghee.core.middleware.WebSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ghee.core.middleware.WebCsrfViewMiddleware",
    "ghee.core.middleware.WebAuthenticationMiddleware",
    "ghee.core.middleware.WebMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A Content-Security-Policy on dashboard pages (django-csp); the JSON API sends none.
    "ghee.dashboard.middleware.WebCSPMiddleware",
    "ghee.dashboard.middleware.WebAxesMiddleware",  # axes wants to be last
]

ROOT_URLCONF = "ghee.urls"
WSGI_APPLICATION = "ghee.wsgi.application"
# The API routes its own trailing-slash rules (GET/HEAD redirect, writes accepted as-is).
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The dashboard's templates come before the apps' (django.contrib.admin's included),
        # so ghee.dashboard can override admin templates (admin/includes/fieldset.html).
        "DIRS": [Path(__file__).resolve().parent / "dashboard" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
# Short, unambiguous dates on dashboard pages (ghee/dashboard/formats/en/formats.py).
FORMAT_MODULE_PATH = ["ghee.dashboard.formats"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database -------------------------------------------------------------------------------


def _check_database_url(url: str) -> None:
    try:
        dj_database_url.parse(url)
    except Exception as exc:  # unknown scheme, bad port, ...: one line, not a traceback
        raise ValueError(url) from exc


SQLITE_PATH = DATA_DIR / "ghee.sqlite3"
_database_url = env.string(
    "DATABASE_URL",
    f"sqlite:///{SQLITE_PATH}",
    expected="a database URL, e.g. postgres://USER:PASSWORD@HOST:5432/NAME",
    check=_check_database_url,
    secret=True,
)
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=600,
        # A health check is a `SELECT 1` round trip on every request's first query: it cost
        # 1.2-2.9x on the accept path (bench/, PostgreSQL). Without it, a connection the server
        # dropped is found without a query instead: ghee.core.db_health looks at its socket at
        # the start of each request and replaces it.
        conn_health_checks=env.boolean("GHEE_DB_HEALTH_CHECKS"),
    )
}
# A worker that lost the database retries after 0.5 s, doubling up to this (seconds).
GHEE_WORKER_RECONNECT_MAX_SECONDS = env.number("GHEE_WORKER_RECONNECT_MAX_SECONDS", 30)
# How long a write waits for SQLite's write lock. The API's writes give up after
# GHEE_SQLITE_WRITE_TIMEOUT seconds with a 503 + Retry-After (nothing accepted), so a stalled
# writer elsewhere cannot hold requests for long; `ghee worker` waits GHEE_SQLITE_WORKER_TIMEOUT
# instead (it has nobody waiting on it). Reads never wait: WAL readers take no lock.
GHEE_SQLITE_WRITE_TIMEOUT = env.number("GHEE_SQLITE_WRITE_TIMEOUT", 5)
GHEE_SQLITE_WORKER_TIMEOUT = env.number("GHEE_SQLITE_WORKER_TIMEOUT", 30)
# synchronous=NORMAL survives a process crash (the case we test); it can lose the last commits
# on power loss. FULL trades throughput for that.
GHEE_SQLITE_SYNCHRONOUS = env.choice(
    "GHEE_SQLITE_SYNCHRONOUS", "NORMAL", ["OFF", "NORMAL", "FULL", "EXTRA"]
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the API read while a worker writes; the busy timeout makes writers queue
    # instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": GHEE_SQLITE_WRITE_TIMEOUT,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            f"PRAGMA synchronous={GHEE_SQLITE_SYNCHRONOUS};"
            "PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

# --- Background work: jobs, the worker's loop, the outbox -----------------------------------

# Jobs are rows claimed by `ghee worker` through ghee.core.leases (docs/leases.md).
# How long a claimed or running job may stay silent before another worker takes it over.
GHEE_JOB_LEASE_SECONDS = env.integer("GHEE_JOB_LEASE_SECONDS", 60, minimum=1)
GHEE_JOB_MAX_ATTEMPTS = env.integer("GHEE_JOB_MAX_ATTEMPTS", 5, minimum=1)
# Jobs a worker claims and processes together.
GHEE_JOB_BATCH_SIZE = env.integer("GHEE_JOB_BATCH_SIZE", 100, minimum=1)
# Finished jobs are deleted this many days after they finished (chore prune_finished_jobs).
GHEE_JOB_RETENTION_DAYS = env.integer("GHEE_JOB_RETENTION_DAYS", 30)
GHEE_WORKER_INTERVAL = env.number("GHEE_WORKER_INTERVAL", 0.05)
# An idle worker doubles its pause up to this; the worst-case pickup delay after a quiet spell.
GHEE_WORKER_IDLE_MAX_INTERVAL = env.number("GHEE_WORKER_IDLE_MAX_INTERVAL", 0.5)
# After a partial batch, wait this long before the next so batches fill under load.
GHEE_WORKER_LINGER = env.number("GHEE_WORKER_LINGER", 0.05)
# Fair background work: in each round of `ghee worker` jobs, then the outbox relay, work for
# at most about this long (at least one chunk or batch each) before deliveries and chores.
GHEE_WORKER_SHARE_SECONDS = env.number("GHEE_WORKER_SHARE_SECONDS", 0.2)
# Outbox events (ghee.core.outbox): relayed to their topic's handlers by the workers.
GHEE_OUTBOX_LEASE_SECONDS = env.integer("GHEE_OUTBOX_LEASE_SECONDS", 60, minimum=1)
GHEE_OUTBOX_MAX_ATTEMPTS = env.integer("GHEE_OUTBOX_MAX_ATTEMPTS", 10, minimum=1)
GHEE_OUTBOX_BATCH_SIZE = env.integer("GHEE_OUTBOX_BATCH_SIZE", 100, minimum=1)
GHEE_OUTBOX_RETENTION_DAYS = env.integer("GHEE_OUTBOX_RETENTION_DAYS", 7)

# --- API: bodies, idempotency, caches, CORS -------------------------------------------------


def _origin(origin: str) -> str:
    _check_http_url(origin)
    return origin.rstrip("/")


GHEE_MAX_BODY_BYTES = env.integer("GHEE_MAX_BODY_BYTES", 1024 * 1024, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = GHEE_MAX_BODY_BYTES
GHEE_IDEMPOTENCY_TTL_SECONDS = env.integer("GHEE_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
# Seconds a looked-up token stays in a process's cache (0 disables). Revocation takes
# effect everywhere within this time.
GHEE_TOKEN_CACHE_SECONDS = env.integer("GHEE_TOKEN_CACHE_SECONDS", 5)
GHEE_SCHEMA_CACHE_SECONDS = env.integer("GHEE_SCHEMA_CACHE_SECONDS", 5)
# A schema's `regex:` pattern may take this long on one value before the value is refused.
GHEE_SCHEMA_PATTERN_TIMEOUT_MS = env.integer("GHEE_SCHEMA_PATTERN_TIMEOUT_MS", 20, minimum=1)
# CORS: reads answer any origin (`Access-Control-Allow-Origin: *`). Writes and /v2/jobs/
# take write tokens, which do not belong in browsers: only these origins (comma-separated,
# e.g. `https://editor.example.com`) get CORS headers there. Default: none.
GHEE_CORS_WRITE_ORIGINS = env.items(
    "GHEE_CORS_WRITE_ORIGINS",
    item=_origin,
    expected="comma-separated origins, e.g. https://editor.example.com",
)

# --- Reads: caching and limits (docs/read-api.md, "Limits") ---------------------------------

# Published reads say `Cache-Control: public, max-age=0, s-maxage=<this>`, so a CDN in front
# may serve them this long after a write (browsers always revalidate).
GHEE_READ_S_MAXAGE = env.integer("GHEE_READ_S_MAXAGE", 60)
# meta.count of result sets of at least GHEE_READ_COUNT_CACHE_MIN items is cached this long
# per process (counting is the one part of a page whose cost grows with the collection).
GHEE_READ_COUNT_CACHE_SECONDS = env.integer("GHEE_READ_COUNT_CACHE_SECONDS", 2)
GHEE_READ_COUNT_CACHE_MIN = env.integer("GHEE_READ_COUNT_CACHE_MIN", 2_000)
# What one read may ask of the database: past a cap is a 400.
GHEE_READ_MAX_PARAMETERS = env.integer("GHEE_READ_MAX_PARAMETERS", 50, minimum=1)
GHEE_READ_MAX_FILTERS = env.integer("GHEE_READ_MAX_FILTERS", 10)
GHEE_READ_MAX_KEYS = env.integer("GHEE_READ_MAX_KEYS", 20, minimum=1)
GHEE_READ_MAX_ITEMS_PER_KEY = env.integer("GHEE_READ_MAX_ITEMS_PER_KEY", 1000, minimum=1)
# What one read's response may hold, counted while it is built: item objects and reference
# URIs each time they appear, and the JSON's estimated size. Past either: a 400 saying how
# to narrow the read.
GHEE_READ_MAX_RESPONSE_OBJECTS = env.integer("GHEE_READ_MAX_RESPONSE_OBJECTS", 100_000, minimum=1)
GHEE_READ_MAX_RESPONSE_BYTES = env.integer(
    "GHEE_READ_MAX_RESPONSE_BYTES", 32 * 1024 * 1024, minimum=1
)
# Each read query is cancelled past this many milliseconds (0: no limit): a 503 with
# Retry-After. Writes, workers and the dashboard never run under it.
GHEE_READ_TIMEOUT_MS = env.integer("GHEE_READ_TIMEOUT_MS", 5000)

# --- Serving and slow clients (docs/api-layer.md, "Limits and slow clients") ----------------

# Seconds a write's body may take to arrive, once its headers passed authentication (408).
GHEE_BODY_READ_TIMEOUT = env.number("GHEE_BODY_READ_TIMEOUT", 10)
# `ghee serve` defaults: blocking threads per granian worker, and seconds a connection may
# take to send a request's headers (also how long an idle keep-alive connection is kept).
GHEE_SERVE_THREADS = env.integer("GHEE_SERVE_THREADS", 1, minimum=1)
GHEE_HEADER_READ_TIMEOUT = env.number("GHEE_HEADER_READ_TIMEOUT", 5)
# Default of `ghee serve --interface`: asgi (ghee's bridge: a write's body is received before
# a thread runs it, so a stalled body holds none and is a 408 after GHEE_BODY_READ_TIMEOUT) or
# wsgi (granian's WSGI interface: a stalled body holds a thread; put a buffering proxy in front).
GHEE_SERVE_INTERFACE = env.choice("GHEE_SERVE_INTERFACE", "asgi", ["asgi", "wsgi"])

# --- Dashboard sign-in, passwords and HTTPS (docs/configuration.md, "Running in production") -
# The API authenticates with tokens; these protect the dashboard's password sign-in and the
# transport. Staff users see only the organizations they are members of (docs/dashboard.md).

# Sign-in throttling (django-axes): after GHEE_LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair is locked out for GHEE_LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.integer("GHEE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.integer("GHEE_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Behind a reverse proxy every request comes from the proxy's address; GHEE_PROXY_COUNT=N
# (the number of proxies in front) takes the client's address from X-Forwarded-For instead.
GHEE_PROXY_COUNT = env.integer("GHEE_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "ghee.dashboard.client_address.client_address"

# Passwords set through the dashboard, `ghee user add` or `ghee createsuperuser` must pass
# Django's validators.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.integer("GHEE_PASSWORD_MIN_LENGTH", 10, minimum=1)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}

# GHEE_HTTPS=1 says "users reach ghee over HTTPS" (directly or through a proxy): redirect
# plain HTTP (except /healthz, which load balancers probe), send HSTS, and mark the session
# and CSRF cookies Secure. GHEE_TRUST_X_FORWARDED_PROTO=1 additionally believes the proxy's
# X-Forwarded-Proto header; set it only when the proxy overwrites that header.
HTTPS = env.boolean("GHEE_HTTPS")
_hsts_seconds = env.integer("GHEE_HSTS_SECONDS", 31_536_000)
_hsts_include_subdomains = env.boolean("GHEE_HSTS_INCLUDE_SUBDOMAINS")
_hsts_preload = env.boolean("GHEE_HSTS_PRELOAD")
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _hsts_seconds if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and _hsts_include_subdomains
SECURE_HSTS_PRELOAD = HTTPS and _hsts_preload
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
if env.boolean("GHEE_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Django's and axes' checks look for their middleware by dotted path; ghee runs subclasses
# that skip /v2/ (ghee.core.middleware.web_only). ghee.dashboard.checks verifies those
# subclasses are installed instead, so nothing is lost by silencing the path checks.
SILENCED_SYSTEM_CHECKS = ["security.W003", "axes.W002"]

# --- Outbound HTTP (docs/egress.md) ---------------------------------------------------------
# Every request to a URL a client gave (media import, webhooks) goes through ghee.core.egress,
# which refuses non-public addresses.


def _port(text: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(text)
    return port


def _network(text: str) -> str:
    ipaddress.ip_network(text, strict=False)
    return text


# Ports a URL may name besides 80 and 443 (comma-separated).
GHEE_EGRESS_ALLOW_PORTS = env.items(
    "GHEE_EGRESS_ALLOW_PORTS", item=_port, expected="comma-separated port numbers, e.g. 8080,8443"
)
# Networks (CIDRs) an operator allows on purpose although they are not public, e.g. an
# intranet media server. Unset: only public addresses are reached.
GHEE_EGRESS_ALLOW_NETWORKS = env.items(
    "GHEE_EGRESS_ALLOW_NETWORKS",
    item=_network,
    expected="comma-separated networks, e.g. 10.0.0.0/8,192.168.1.20",
)
# Wall-clock limit for one whole fetch (resolution, redirects, headers, body), in seconds.
GHEE_EGRESS_TIMEOUT = env.number("GHEE_EGRESS_TIMEOUT", 60)
GHEE_EGRESS_CONNECT_TIMEOUT = env.number("GHEE_EGRESS_CONNECT_TIMEOUT", 5)
# Longest silence between two reads before a fetch gives up (the deadline bounds the total).
GHEE_EGRESS_READ_TIMEOUT = env.number("GHEE_EGRESS_READ_TIMEOUT", 15)
# Largest body, counted after Content-Encoding is decoded.
GHEE_EGRESS_MAX_BYTES = env.integer("GHEE_EGRESS_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
# Extra CA certificates (PEM) trusted for https, e.g. a private CA. Default: the system's.
GHEE_EGRESS_CA_FILE = env.string("GHEE_EGRESS_CA_FILE", "", expected="a PEM file's path")

# --- Media library (docs/media.md) ----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Where media is stored: local disk under GHEE_MEDIA_ROOT (served by ghee at /media/), or an
# S3-compatible bucket when GHEE_S3_BUCKET is set. GHEE_MEDIA_URL is the public base URL of
# the files (a CDN in front, or the bucket's website); it defaults to ghee's own /media/.
MEDIA_ROOT = env.path("GHEE_MEDIA_ROOT", DATA_DIR / "media")
GHEE_MEDIA_URL = env.string("GHEE_MEDIA_URL", "", expected=_url_form, check=_check_http_url)
if GHEE_MEDIA_URL and not GHEE_MEDIA_URL.endswith("/"):
    GHEE_MEDIA_URL += "/"
# Downloads in progress (can be as large as GHEE_EGRESS_MAX_BYTES; kept off a RAM-backed /tmp).
GHEE_MEDIA_TMP_DIR = env.path("GHEE_MEDIA_TMP_DIR", DATA_DIR / "tmp")
GHEE_S3_BUCKET = env.string("GHEE_S3_BUCKET", "", expected="a bucket name")
_s3_options = {
    "bucket_name": GHEE_S3_BUCKET,
    "endpoint_url": env.string(
        "GHEE_S3_ENDPOINT_URL", "", expected=_url_form, check=_check_http_url
    )
    or None,
    "region_name": env.string("GHEE_S3_REGION", "", expected="a region, e.g. eu-west-1") or None,
    "access_key": env.string("GHEE_S3_ACCESS_KEY_ID", "", expected="an access key id") or None,
    "secret_key": env.string("GHEE_S3_SECRET_ACCESS_KEY", "", expected="a secret key") or None,
    "addressing_style": env.choice("GHEE_S3_ADDRESSING_STYLE", "", ["path", "virtual", "auto"])
    or None,
    "location": env.string("GHEE_S3_PREFIX", "", expected="a key prefix, e.g. media/"),
    # Media URLs are public and permanent: no signed, expiring query strings.
    "querystring_auth": False,
}
if GHEE_S3_BUCKET:
    if GHEE_MEDIA_URL:
        _scheme, _, _domain = GHEE_MEDIA_URL.partition("//")
        _s3_options.update(custom_domain=_domain.rstrip("/"), url_protocol=_scheme)
    _media_storage = {"BACKEND": "ghee.media.s3.MediaS3Storage", "OPTIONS": _s3_options}
else:
    MEDIA_URL = GHEE_MEDIA_URL or f"{PUBLIC_URL}/media/"
    _media_storage = {
        "BACKEND": "ghee.media.storage.MediaFileStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def _content_type(text: str) -> str:
    if text.count("/") != 1:
        raise ValueError(text)
    return text


# Content types the media library accepts (sniffed from the bytes); unset means every type
# ghee.media.sniffing recognises.
GHEE_MEDIA_ALLOWED_TYPES = env.items(
    "GHEE_MEDIA_ALLOWED_TYPES",
    item=_content_type,
    expected="comma-separated content types, e.g. image/png,image/jpeg",
)
# Largest media file, imported or uploaded (an import is also capped by GHEE_EGRESS_MAX_BYTES).
GHEE_MEDIA_MAX_BYTES = env.integer("GHEE_MEDIA_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
# Images larger than this many pixels are refused before their pixels are decoded.
GHEE_MEDIA_MAX_IMAGE_PIXELS = env.integer("GHEE_MEDIA_MAX_IMAGE_PIXELS", 40_000_000, minimum=1)
# A ZIP-based file (DOCX, XLSX, PPTX, ODF) may list at most this many entries and unpack to
# at most this many bytes; an archive or an image past the first 64 MiB may unpack to at most
# GHEE_MEDIA_MAX_EXPANSION times its own size; checking one file may take this many seconds
# (docs/media.md, "Bombs and budgets").
GHEE_MEDIA_MAX_ARCHIVE_ENTRIES = env.integer("GHEE_MEDIA_MAX_ARCHIVE_ENTRIES", 10_000, minimum=1)
GHEE_MEDIA_MAX_UNPACKED_BYTES = env.integer(
    "GHEE_MEDIA_MAX_UNPACKED_BYTES", 256 * 1024 * 1024, minimum=1
)
GHEE_MEDIA_MAX_EXPANSION = env.integer("GHEE_MEDIA_MAX_EXPANSION", 200, minimum=1)
GHEE_MEDIA_CHECK_SECONDS = env.number("GHEE_MEDIA_CHECK_SECONDS", 5)
# A job's media URLs are downloaded this many at once, at most GHEE_MEDIA_FETCH_PER_HOST of
# them from one host (ghee.media.downloads).
GHEE_MEDIA_FETCH_CONCURRENCY = env.integer("GHEE_MEDIA_FETCH_CONCURRENCY", 4, minimum=1)
GHEE_MEDIA_FETCH_PER_HOST = env.integer("GHEE_MEDIA_FETCH_PER_HOST", 2, minimum=1)
# Seconds an upload to POST /v2/media/ may take to arrive once its token was checked (408).
GHEE_MEDIA_UPLOAD_TIMEOUT = env.number("GHEE_MEDIA_UPLOAD_TIMEOUT", 120)
# Seconds POST /v2/media/ {"url": ...} may spend downloading: it holds a server thread.
GHEE_MEDIA_API_FETCH_TIMEOUT = env.number("GHEE_MEDIA_API_FETCH_TIMEOUT", 20)
# A stored file no asset points at is deleted once it is this many seconds old (an import
# stores its file before the row commits: younger files may belong to one in flight).
GHEE_MEDIA_ORPHAN_GRACE_SECONDS = env.integer("GHEE_MEDIA_ORPHAN_GRACE_SECONDS", 24 * 3600)

# --- Webhooks (docs/webhooks.md) ------------------------------------------------------------

# A delivery succeeds on a 2xx answered within this many seconds (the whole exchange).
GHEE_WEBHOOK_TIMEOUT = env.number("GHEE_WEBHOOK_TIMEOUT", 5)
# Seconds to wait before each retry after a failed attempt (the first try is at once); the
# number of steps is the number of retries. Each wait is varied by +/- GHEE_WEBHOOK_RETRY_JITTER
# (a fraction) so that deliveries that failed together do not all retry together.
GHEE_WEBHOOK_RETRY_SCHEDULE = env.items(
    "GHEE_WEBHOOK_RETRY_SCHEDULE",
    [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0],
    item=env.non_negative,
    expected="comma-separated seconds, e.g. 5,300,1800",
)
GHEE_WEBHOOK_RETRY_JITTER = env.number("GHEE_WEBHOOK_RETRY_JITTER", 0.1, unit="a fraction")
# Deliveries one worker sends at once, and at most this many to one endpoint (all workers).
GHEE_WEBHOOK_CONCURRENCY = env.integer("GHEE_WEBHOOK_CONCURRENCY", 16, minimum=1)
GHEE_WEBHOOK_PER_ENDPOINT = env.integer("GHEE_WEBHOOK_PER_ENDPOINT", 4, minimum=1)
# A delivery's lease: a dead worker's delivery is sent again after it (keep it above the timeout).
GHEE_WEBHOOK_LEASE_SECONDS = env.integer("GHEE_WEBHOOK_LEASE_SECONDS", 60, minimum=1)
# An endpoint whose every attempt failed for this many days is disabled.
GHEE_WEBHOOK_DISABLE_AFTER_DAYS = env.number("GHEE_WEBHOOK_DISABLE_AFTER_DAYS", 5)
# After `ghee webhook rotate`, the previous secret keeps signing (beside the new one) this long.
GHEE_WEBHOOK_ROTATION_GRACE_HOURS = env.number("GHEE_WEBHOOK_ROTATION_GRACE_HOURS", 24)
# Finished deliveries (and their attempts) are deleted this long after they finished.
GHEE_WEBHOOK_RETENTION_DAYS = env.integer("GHEE_WEBHOOK_RETENTION_DAYS", 30)

# --- Logging ----------------------------------------------------------------------------------

# Unset: INFO for ghee's loggers and WARNING for the rest; set: that level for all of them.
_log_level = env.choice("GHEE_LOG_LEVEL", "", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _log_level or "WARNING"},
    "loggers": {"ghee": {"level": _log_level or "INFO"}},
}
