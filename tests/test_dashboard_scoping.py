"""The media, webhooks and content pages follow organization membership too (docs/dashboard.md):
a staff member of Globex sees Globex's assets, endpoints, deliveries, collections and items,
and none of Acme's, in lists or by id; a member of neither sees none of these pages.
"""

import pytest

from ghee.accounts.services import create_organization
from ghee.content.models import Item
from ghee.media.models import MediaAsset
from ghee.webhooks import services as webhooks

from .conftest import make_collection, staff_client


def asset(organization, name: str) -> MediaAsset:
    return MediaAsset.objects.create(
        organization=organization,
        file=f"{organization.slug}/{name}",
        content_type="image/png",
        size=10,
        sha256=name.ljust(64, "0"),
        alt_text=f"{name} alt",
    )


@pytest.fixture
def rows(db):
    """The same kinds of rows in two organizations; the names say whose they are."""
    made = {}
    for slug in ("acme", "globex"):
        organization = create_organization(slug, slug.title())
        collection = make_collection(
            organization, f"{slug}_posts", [{"key": "title", "type": "short_text"}], label="title"
        )
        item = Item.objects.create(collection=collection, organization=organization)
        endpoint, _ = webhooks.create_endpoint(
            organization, f"https://{slug}.example/hooks", ["collectionitem.all"]
        )
        delivery = webhooks.send_test_event(endpoint)
        made[slug] = {
            "organization": organization,
            "collection": collection,
            "item": item,
            "asset": asset(organization, f"{slug}-logo"),
            "endpoint": endpoint,
            "delivery": delivery,
        }
    return made


def lists(client) -> dict[str, bytes]:
    pages = {
        "media": "/admin/media/mediaasset/",
        "endpoints": "/admin/webhooks/endpoint/",
        "deliveries": "/admin/webhooks/delivery/",
        "collections": "/admin/content/collection/",
        "content": "/admin/content/item/",
    }
    return {name: client.get(url) for name, url in pages.items()}


def test_a_member_lists_only_their_organizations_rows(rows):
    globex_member = staff_client("bob", rows["globex"]["organization"])[0]
    for name, page in lists(globex_member).items():
        assert page.status_code == 200, name
        assert b"globex" in page.content.lower(), name
        assert b"acme" not in page.content.lower(), name


def test_another_organizations_rows_are_unreachable_by_id(rows):
    globex_member = staff_client("bob", rows["globex"]["organization"])[0]
    acme = rows["acme"]
    for url in (
        f"/admin/media/mediaasset/{acme['asset'].pk}/change/",
        f"/admin/webhooks/endpoint/{acme['endpoint'].pk}/change/",
        f"/admin/webhooks/delivery/{acme['delivery'].pk}/change/",
        f"/admin/content/collection/{acme['collection'].pk}/change/",
    ):
        page = globex_member.get(url, follow=True)
        assert page.redirect_chain[:1] == [("/admin/", 302)], url
        assert b"acme" not in page.content.lower(), url
    # The content editor's own pages answer 404 for another organization's collection or item.
    collection, item = acme["collection"], acme["item"]
    for url in (
        f"/admin/content/item/{collection.pk}/",
        f"/admin/content/item/{collection.pk}/add/",
        f"/admin/content/item/{collection.pk}/{item.pk}/",
    ):
        assert globex_member.get(url).status_code == 404, url
    # Their own are there.
    globex = rows["globex"]
    assert globex_member.get(f"/admin/content/item/{globex['collection'].pk}/").status_code == 200
    assert (
        globex_member.get(f"/admin/webhooks/endpoint/{globex['endpoint'].pk}/change/").status_code
        == 200
    )


def test_a_staff_user_without_membership_gets_none_of_these_pages(rows):
    nobody = staff_client("eve")[0]
    for name, page in lists(nobody).items():
        assert page.status_code == 403, name
