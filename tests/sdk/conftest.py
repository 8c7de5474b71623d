"""Content written through the Write API (POST + the jobs run inline), served by a live
server on 127.0.0.1 for the official SDKs to read."""

import pytest

from ghee.accounts.services import create_token
from ghee.content.models import Job
from ghee.content.write.jobs import run_pending_jobs
from tests.conftest import make_collection


def write(api, token, body):
    response = api.post("/v2/content/", body, format="json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 202, response.content
    assert response.json() == {"status": "pending"}
    return int(response["Location"].rstrip("/").rsplit("/", 1)[1])


def written_ids(job_ids):
    run_pending_jobs()
    ids = []
    for job in Job.objects.filter(pk__in=job_ids).order_by("pk"):
        assert job.status == "succeeded", job.errors
        ids += job.result["item_ids"]
    return ids


@pytest.fixture
def site(api, live_server, org_locales):
    """Authors and articles (en + es), one article a draft, written through the Write API."""
    make_collection(org_locales, "authors", [{"key": "name", "type": "short_text"}])
    make_collection(
        org_locales,
        "articles",
        [
            {"key": "title", "type": "short_text"},
            {"key": "rank", "type": "number", "translatable": False},
            {
                "key": "author",
                "type": "reference",
                "reference_to": "authors",
                "translatable": False,
            },
        ],
    )
    writer = create_token(org_locales, "write", "sdk test writer")[1]
    reader = create_token(org_locales, "read", "sdk test reader")[1]
    [author] = written_ids(
        [
            write(
                api,
                writer,
                {
                    "key": "authors",
                    "status": "published",
                    "fields": [{"en": {"name": "Ann"}, "es": {"name": "Ana"}}],
                },
            )
        ]
    )
    published = write(
        api,
        writer,
        {
            "key": "articles",
            "status": "published",
            "fields": [
                {
                    "en": {"title": f"Article {n}", "rank": n, "author": author},
                    "es": {"title": f"Artículo {n}", "rank": n, "author": author},
                }
                for n in range(1, 6)
            ],
        },
    )
    draft = write(
        api,
        writer,
        {
            "key": "articles",
            "status": "draft",
            "fields": [{"en": {"title": "Unpublished", "rank": 6}}],
        },
    )
    *articles, draft_id = written_ids([published, draft])
    return {
        "base": f"{live_server.url}/v2/",
        "reader": reader,
        "author": author,
        "articles": articles,
        "draft": draft_id,
    }
