"""A job's media URLs fetched together: bounded concurrency overall and per host."""

import threading
import time

import pytest

from ghee.media.downloads import discard_fetched, fetch_media_many
from ghee.media.services import FetchedMedia, MediaImportError
from tests.media import samples


@pytest.fixture
def gauge():
    """Counts requests in flight per Host header, and the most seen at once."""

    class Gauge:
        def __init__(self):
            self.lock = threading.Lock()
            self.now: dict[str, int] = {}
            self.most: dict[str, int] = {}
            self.most_overall = 0

        def route(self, body):
            def handler(request):
                host = request.headers["Host"].split(":")[0]
                with self.lock:
                    self.now[host] = self.now.get(host, 0) + 1
                    self.most[host] = max(self.most.get(host, 0), self.now[host])
                    self.most_overall = max(self.most_overall, sum(self.now.values()))
                time.sleep(0.15)  # long enough for the others to pile up if allowed
                with self.lock:
                    self.now[host] -= 1
                request.send_response(200)
                request.send_header("Content-Length", str(len(body)))
                request.end_headers()
                request.wfile.write(body)

            return handler

    return Gauge()


@pytest.fixture
def hosts(monkeypatch):
    from ghee.core.egress import urls

    monkeypatch.setattr(urls, "resolve_host", lambda host, port: ["127.0.0.1"])


def test_downloads_run_together_within_both_limits(
    allow_loopback, media_storage, settings, gauge, hosts
):
    settings.GHEE_MEDIA_FETCH_CONCURRENCY = 3
    settings.GHEE_MEDIA_FETCH_PER_HOST = 2
    server = allow_loopback
    urls = []
    for n in range(8):
        server.route(f"/{n}.png", gauge.route(samples.png_bytes(color=(n, n, n))))
        host = "a.test" if n < 5 else "b.test"
        urls.append(f"http://{host}:{server.port}/{n}.png")
    results = fetch_media_many(urls + urls[:2])  # duplicates are fetched once
    try:
        assert list(results) == urls
        assert all(isinstance(r, FetchedMedia) for r in results.values())
        assert gauge.most["a.test"] <= 2  # never more than the per-host limit
        assert 2 <= gauge.most_overall <= 3  # several at once, never more than the limit
        assert len(server.requests) == 8
    finally:
        discard_fetched(results)
    assert list(settings.GHEE_MEDIA_TMP_DIR.glob("*")) == []


def test_each_url_gets_its_own_result(allow_loopback, media_storage):
    server = allow_loopback
    good = server.serve("/good.png", samples.png_bytes())
    missing = server.url("/missing.png")
    html = server.serve("/page.png", samples.HTML)
    results = fetch_media_many([good, missing, html, "ftp://example.com/x.png"])
    try:
        assert isinstance(results[good], FetchedMedia)
        assert [str(results[u]) for u in (missing, html, "ftp://example.com/x.png")] == [
            "HTTP 404 from 127.0.0.1",
            "not an allowed file type",
            "bad URL: only http and https URLs can be fetched",
        ]
        assert all(isinstance(results[u], MediaImportError) for u in (missing, html))
    finally:
        discard_fetched(results)


def test_no_urls_no_work(media_storage):
    assert fetch_media_many([]) == {}
