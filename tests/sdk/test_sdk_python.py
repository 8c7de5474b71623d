"""The official buttercms-python SDK (2.1.1, PyPI) reading from ghee on 127.0.0.1.

2.1.1 only knows the ``GET /v2/content/?keys=`` endpoint (``content_fields.get``); it is
pointed at the live server by setting ``url`` on every resource (see buttercms-sdks.md).
"""

import pytest
import requests
from butter_cms import ButterCMS


def client_for(site, token=None):
    client = ButterCMS(token or site["reader"])
    for resource in vars(client).values():
        resource.url = site["base"]
    return client


def ids(items):
    return [item["meta"]["id"] for item in items]


@pytest.mark.slow
def test_python_sdk_reads_what_the_write_api_wrote(site):
    butter = client_for(site)
    response = butter.content_fields.get(["articles"])
    assert response["meta"] == {"count": 5, "next_page": None, "previous_page": None}
    first = response["data"]["articles"][0]
    assert first == {
        "meta": {"id": site["articles"][0]},
        "title": "Article 1",
        "rank": 1,
        "author": {"meta": {"id": site["author"]}, "name": "Ann"},
    }


@pytest.mark.slow
def test_python_sdk_locale_preview_paging_filters_levels(site):
    butter = client_for(site)
    spanish = butter.content_fields.get(["articles"], {"locale": "es"})["data"]["articles"]
    assert [a["title"] for a in spanish][:2] == ["Artículo 1", "Artículo 2"]
    assert spanish[0]["author"]["name"] == "Ana"
    for flag in ({"preview": 1}, {"test": 1}):
        drafts = butter.content_fields.get(["articles"], dict(flag))["data"]["articles"]
        assert ids(drafts) == [*site["articles"], site["draft"]]
        assert drafts[-1]["title"] == "Unpublished"
    paged = butter.content_fields.get(["articles"], {"page": 2, "page_size": 2})
    assert paged["meta"] == {"count": 5, "next_page": 3, "previous_page": 1}
    assert ids(paged["data"]["articles"]) == site["articles"][2:4]
    filtered = butter.content_fields.get(["articles"], {"fields.rank": "3"})
    assert ids(filtered["data"]["articles"]) == [site["articles"][2]]
    ordered = butter.content_fields.get(["articles"], {"order": "-rank", "page_size": 2})
    assert ids(ordered["data"]["articles"]) == site["articles"][:-3:-1]
    uris = butter.content_fields.get(["articles"], {"levels": 1})["data"]["articles"]
    assert uris[0]["author"] == f"/v2/content/?keys=authors[_id={site['author']}]"
    one = butter.content_fields.get([f"articles[_id={site['articles'][1]}]"])
    assert ids(one["data"]["articles"]) == [site["articles"][1]]


@pytest.mark.slow
def test_python_sdk_several_keys(site):
    response = client_for(site).content_fields.get(["articles", "authors"])
    assert set(response) == {"data"}
    assert ids(response["data"]["authors"]) == [site["author"]]
    assert ids(response["data"]["articles"]) == site["articles"]


@pytest.mark.slow
def test_python_sdk_errors(site):
    with pytest.raises(requests.exceptions.HTTPError, match="404"):
        client_for(site).content_fields.get(["nope"])
    with pytest.raises(requests.exceptions.HTTPError, match="401"):
        client_for(site, token="f" * 52).content_fields.get(["articles"])
