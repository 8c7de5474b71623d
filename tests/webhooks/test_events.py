"""Every item event reaches a real receiver through a real worker: ButterCMS's payload,
Standard Webhooks headers that the standardwebhooks library verifies, custom headers."""

import pytest

from ghee.accounts.services import create_token
from ghee.webhooks.models import Delivery
from tests.conftest import make_collection
from tests.processes import start_worker, stop, wait_for
from tests.webhooks.conftest import add_endpoint, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("committed", "allow_receiver")]


def write(api, token, method, url, body=None):
    response = getattr(api, method)(url, body, format="json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code in (202, 204), response.content
    return response


EN_PUBLISHED = ("collectionitem.published", None, "published")  # en is the default: null
EN_UNPUBLISHED = ("collectionitem.unpublished", None, "draft")
EN_DELETED = ("collectionitem.delete", None, "deleted")
ES_DRAFT = ("collectionitem.draft", "es", "draft")
ES_PUBLISHED = ("collectionitem.published", "es", "published")
ES_DELETED = ("collectionitem.delete", "es", "deleted")


def described(request) -> tuple:
    body = request.json
    return body["webhook"]["event"], body["data"]["locale"], body["data"]["status"]


def test_every_event_payload_and_headers(api, org_locales, receiver):
    token = create_token(org_locales, "write", "Product Manager")[1]
    make_collection(
        org_locales,
        "products",
        [{"key": "title", "type": "short_text"}, {"key": "price", "type": "number"}],
        label="title",
    )
    everything = receiver.hook("/all")
    deletes = receiver.hook("/deletes")
    endpoint, secret = add_endpoint(org_locales, everything, headers={"X-Shop": "42"})
    add_endpoint(org_locales, deletes, events="collectionitem.delete")

    write(
        api,
        token,
        "post",
        "/v2/content/",
        {"key": "products", "status": "published", "fields": [{"en": {"title": "Pro"}}]},
    )
    worker = start_worker(**worker_env(receiver))
    try:
        assert wait_for(lambda: len(receiver.at("/all")) == 1, timeout=30), stop(worker)
        item_id = int(receiver.at("/all")[0].json["data"]["itemid"].split("_id=")[1].rstrip("]"))
        url = f"/v2/content/products/{item_id}/"
        # (method, body, the events each locale version should announce)
        steps = [
            ("patch", {"status": "draft", "fields": {"es": {"title": "Pro ES"}}}, {ES_DRAFT}),
            ("patch", {"fields": {"en": {"price": 10}}}, {EN_PUBLISHED}),  # stays published
            ("patch", {"status": "draft"}, {EN_UNPUBLISHED, ES_DRAFT}),
            ("patch", {"status": "published"}, {EN_PUBLISHED, ES_PUBLISHED}),
            ("delete", None, {EN_DELETED, ES_DELETED}),
        ]
        seen = [{described(receiver.at("/all")[0])}]
        for method, body, events in steps:
            before = len(receiver.at("/all"))
            write(api, token, method, url, body)
            arrived = lambda n=before + len(events): len(receiver.at("/all")) >= n  # noqa: E731
            assert wait_for(arrived, timeout=30), stop(worker)
            seen.append({described(r) for r in receiver.at("/all")[before:]})
        assert wait_for(lambda: len(receiver.at("/deletes")) == 2, timeout=30)
        assert wait_for(
            lambda: not Delivery.objects.exclude(status="succeeded").exists(), timeout=30
        )
    finally:
        output = stop(worker)

    assert seen == [{EN_PUBLISHED}] + [events for _, _, events in steps], output
    got = receiver.at("/all")
    assert len(got) == 9
    first = got[0]
    data = first.json["data"]
    assert set(first.json) == {"data", "webhook"}
    assert first.json["webhook"] == {"event": "collectionitem.published", "target": everything}
    assert data == {
        "id": "products",
        "itemid": f"/v2/content/?keys=products[_id={item_id}]",
        "label": "Pro",
        "editor": "Product Manager",
        "timestamp": data["timestamp"],
        "locale": None,
        "status": "published",
    }
    assert len(data["timestamp"]) == 19 and data["timestamp"][10] == "T"  # no zone, seconds
    assert [r.json["data"]["label"] for r in got if r.json["data"]["locale"]] == ["Pro ES"] * 4

    for request in got:
        assert request.verify(secret) == request.json  # signature, id and timestamp checked
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("ghee-webhooks/")
        assert request.headers["x-shop"] == "42"
        assert request.headers["webhook-id"].startswith("msg_")
    assert len({r.headers["webhook-id"] for r in got}) == len(got)  # one message per event
    # The delete-only endpoint got only the deletes.
    assert [r.json["webhook"]["event"] for r in receiver.at("/deletes")] == [
        "collectionitem.delete"
    ] * 2
    assert Delivery.objects.filter(endpoint=endpoint, status="succeeded").count() == len(got)


def test_subscriptions_are_the_events_the_content_app_declares(org_locales):
    """The dashboard's checkboxes, the CLI's validation and the wildcard all come from the
    event names the content app records (declared once, to the outbox)."""
    from django.core.exceptions import ValidationError

    from ghee.content.write.pipeline import ITEM_EVENTS
    from ghee.webhooks import services
    from ghee.webhooks.forms import EndpointForm

    offered = [name for name, _ in EndpointForm().fields["events"].choices]
    assert offered == ["collectionitem.all", *ITEM_EVENTS]
    with pytest.raises(ValidationError) as refused:
        services.clean_events("")
    assert refused.value.message_dict["events"] == [
        "no events given; choose from " + ", ".join(["collectionitem.all", *ITEM_EVENTS])
    ]
    everything, _ = add_endpoint(org_locales, "https://a.example/all")
    deletes, _ = add_endpoint(org_locales, "https://a.example/d", events="collectionitem.delete")
    assert all(everything.wants(event) for event in ITEM_EVENTS)
    assert [event for event in ITEM_EVENTS if deletes.wants(event)] == ["collectionitem.delete"]
    assert not everything.wants("page.published")
