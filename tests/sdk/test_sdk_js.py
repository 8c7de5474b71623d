"""The official ButterCMS JS SDK (npm ``buttercms`` 3.0.3) reading from ghee on 127.0.0.1.

The SDK runs under the machine's Node.js; ``redirect-fetch.mjs`` (a ``--import`` preload)
rewrites its hard-coded ``https://api.buttercms.com/v2`` to the live server. The SDK is
installed by ``scripts/install-js-sdk.sh`` (run here when missing). These tests skip only
when ``node`` itself is missing.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"
INSTALL = Path(__file__).parents[2] / "scripts" / "install-js-sdk.sh"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def node():
    path = shutil.which("node")
    if path is None:
        pytest.skip(
            "node is not installed: the official JS SDK cannot run (apt-get install nodejs)"
        )
    if not (JS_DIR / "node_modules" / "buttercms").is_dir():
        result = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True)
        assert result.returncode == 0, f"scripts/install-js-sdk.sh failed:\n{result.stderr}"
    return path


def retrieve(node, site, calls, token=None):
    result = subprocess.run(
        [
            node,
            "--import",
            "./redirect-fetch.mjs",
            "read.mjs",
            token or site["reader"],
            json.dumps(calls),
        ],
        cwd=JS_DIR,
        env={"PATH": "/usr/bin:/bin", "BUTTER_LOCAL_BASE": site["base"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def ids(items):
    return [item["meta"]["id"] for item in items]


def test_js_sdk_reads_what_the_write_api_wrote(node, site):
    [result] = retrieve(node, site, [{"key": "articles"}])
    assert result["status"] == 200
    assert "/v2/content/articles/?" in result["url"]
    body = result["body"]
    assert body["meta"] == {"count": 5, "next_page": None, "previous_page": None}
    assert body["data"]["articles"][0] == {
        "meta": {"id": site["articles"][0]},
        "title": "Article 1",
        "rank": 1,
        "author": {"meta": {"id": site["author"]}, "name": "Ann"},
    }


def test_js_sdk_locale_preview_paging_filters_order(node, site):
    spanish, preview, test_mode, paged, filtered, ordered, offsets = retrieve(
        node,
        site,
        [
            {"key": "articles", "params": {"locale": "es"}},
            {"key": "articles", "params": {"preview": 1}},
            {"key": "articles", "testMode": True},
            {"key": "articles", "params": {"page": 2, "page_size": 2}},
            {"key": "articles", "params": {"fields.rank": 4, "levels": 1}},
            {"key": "articles", "params": {"order": "-rank", "page_size": 3}},
            {"key": "articles", "params": {"limit": 2, "offset": 4}},
        ],
    )
    titles = [a["title"] for a in spanish["body"]["data"]["articles"]]
    assert titles == [f"Artículo {n}" for n in range(1, 6)]
    assert spanish["body"]["data"]["articles"][0]["author"]["name"] == "Ana"
    for result in (preview, test_mode):
        assert ids(result["body"]["data"]["articles"]) == [*site["articles"], site["draft"]]
    assert "test=1" in test_mode["url"] and "preview=1" in test_mode["url"]
    assert paged["body"]["meta"] == {"count": 5, "next_page": 3, "previous_page": 1}
    assert ids(paged["body"]["data"]["articles"]) == site["articles"][2:4]
    [match] = filtered["body"]["data"]["articles"]
    assert match["meta"]["id"] == site["articles"][3]
    assert match["author"] == f"/v2/content/?keys=authors[_id={site['author']}]"
    assert ids(ordered["body"]["data"]["articles"]) == site["articles"][:-4:-1]
    assert offsets["body"]["meta"] == {"count": 5, "next_offset": None, "previous_offset": 2}
    assert ids(offsets["body"]["data"]["articles"]) == site["articles"][4:]


def test_js_sdk_array_of_keys(node, site):
    [result] = retrieve(node, site, [{"key": ["articles", "authors"]}])
    assert result["status"] == 200
    assert ids(result["body"]["data"]["authors"]) == [site["author"]]
    assert ids(result["body"]["data"]["articles"]) == site["articles"]


def test_js_sdk_errors(node, site):
    [missing] = retrieve(node, site, [{"key": "nope"}])
    assert missing["error"] == "[detail]: Not found. (404)"
    assert missing["body"] == {"detail": "Not found."}
    [bad_locale] = retrieve(node, site, [{"key": "articles", "params": {"locale": "fr"}}])
    assert bad_locale["error"] == "[detail]: Invalid locale parameter (400)"
    [bad_token] = retrieve(node, site, [{"key": "articles"}], token="f" * 52)
    assert bad_token["error"] == "[detail]: Invalid token. (401)"
