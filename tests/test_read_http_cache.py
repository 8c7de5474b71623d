"""HTTP caching and compression of reads: ETag / If-None-Match, Cache-Control, Vary, gzip."""

import gzip
import json

import pytest
from django.test import override_settings

from tests.read_factories import put_item

URL = "/v2/content/team_members/"


@pytest.fixture
def members(team_members):
    return [put_item(team_members, {"name": f"Member {n}", "position": "x" * 40}) for n in range(8)]


def test_published_reads_are_shared_cacheable_with_an_etag(api, read_token, members):
    response = api.get(URL, {"auth_token": read_token})
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=0, s-maxage=60"
    assert response["ETag"].startswith('"') and len(response["ETag"]) > 10
    assert "Authorization" in response["Vary"]


@override_settings(GHEE_READ_S_MAXAGE=5)
def test_s_maxage_follows_the_setting(api, read_token, members):
    response = api.get(URL, {"auth_token": read_token})
    assert response["Cache-Control"] == "public, max-age=0, s-maxage=5"


@pytest.mark.parametrize(
    "path", [URL, "/v2/content/", "/v2/content/team_members/{id}/"], ids=["R2", "R1", "R3"]
)
def test_if_none_match_gives_304_until_the_content_changes(api, read_token, members, path):
    params = {"auth_token": read_token}
    if path == "/v2/content/":
        params["keys"] = "team_members"
    path = path.format(id=members[0].id)
    first = api.get(path, params)
    etag = first["ETag"]
    again = api.get(path, params, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert again["Cache-Control"] == first["Cache-Control"]
    # Weak form, lists and other tags.
    assert api.get(path, params, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304
    assert api.get(path, params, HTTP_IF_NONE_MATCH=f'"nope", {etag}').status_code == 304
    assert api.get(path, params, HTTP_IF_NONE_MATCH='"nope"').status_code == 200
    put_item(members[0].collection, {"name": "Changed"}, item=members[0])
    changed = api.get(path, params, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_same_content_same_etag_different_params_different_etag(api, read_token, members):
    one = api.get(URL, {"auth_token": read_token})
    two = api.get(URL, {"auth_token": read_token})
    paged = api.get(URL, {"auth_token": read_token, "page_size": 3})
    assert one["ETag"] == two["ETag"] != paged["ETag"]


def test_preview_is_private_and_not_conditional(api, read_token, members):
    response = api.get(URL, {"auth_token": read_token, "preview": 1})
    assert response["Cache-Control"] == "private, no-store"
    assert not response.has_header("ETag")
    again = api.get(URL, {"auth_token": read_token, "preview": 1}, HTTP_IF_NONE_MATCH="*")
    assert again.status_code == 200


def test_errors_are_not_stored(api, read_token, members):
    for path, params in [
        ("/v2/content/nope/", {}),
        ("/v2/content/", {"keys": "nope"}),
        ("/v2/content/team_members/999999/", {}),
        (URL, {"levels": 9}),
    ]:
        response = api.get(path, {"auth_token": read_token, **params})
        assert response.status_code in (400, 404)
        assert response["Cache-Control"] == "private, no-store"
        assert not response.has_header("ETag")


def test_gzip_when_asked(api, read_token, members):
    plain = api.get(URL, {"auth_token": read_token})
    assert not plain.has_header("Content-Encoding")
    zipped = api.get(URL, {"auth_token": read_token}, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"] and "Authorization" in zipped["Vary"]
    assert len(zipped.content) < len(plain.content)
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()
    # Compression makes the tag weak; sending it back still matches.
    assert zipped["ETag"] == f"W/{plain['ETag']}"
    again = api.get(
        URL,
        {"auth_token": read_token},
        HTTP_ACCEPT_ENCODING="gzip",
        HTTP_IF_NONE_MATCH=zipped["ETag"],
    )
    assert again.status_code == 304
