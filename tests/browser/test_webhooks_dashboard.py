"""The dashboard's webhooks pages in a real Chromium (issue 11 item 6): create an endpoint and
read its secret once, send a test event, and find the delivery and its attempt in the log.

The delivery is sent in this process between browser sessions (``sending.claim`` and
``deliver``, what a worker's step does) to a real receiver on 127.0.0.1, which checks the
signature with the secret the page showed.
"""

import pytest

from ghee.webhooks import sending
from ghee.webhooks.models import Delivery, Endpoint
from tests.browser.conftest import shot, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("allow_receiver")]

PASSWORD = "a long enough passphrase 42"


def test_create_an_endpoint_send_a_test_event_and_read_the_delivery_log(
    browser_session,
    live_server,
    django_user_model,
    org,
    receiver,
):
    django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    base = live_server.url.replace("localhost", "127.0.0.1")
    hook = receiver.hook("/hooks/ghee", 204)

    def create_endpoint(page):
        sign_in(page, base, "ops", PASSWORD)
        page.goto(f"{base}/admin/webhooks/endpoint/add/")
        page.select_option("#id_organization", label="Acme")
        page.fill("#id_url", hook)
        page.check("input[name=events][value='collectionitem.all']")
        page.fill("#id_header_lines", "X-Shop-Key: 42")
        page.click("input[name=_save]")
        secret = page.inner_text("#webhook-secret")
        shot(page, "webhook-secret")
        # The secret is shown once: the endpoint's own page does not show it again.
        page.goto(f"{base}/admin/webhooks/endpoint/")
        page.click(f"text={hook}")
        assert secret not in page.content()
        page.click("text=Send test event")
        page.wait_for_url("**/admin/webhooks/delivery/**")
        return secret

    secret = browser_session(create_endpoint)
    assert secret.startswith("whsec_")
    endpoint = Endpoint.objects.get()
    assert endpoint.headers == {"X-Shop-Key": "42"}

    lease, claimed = sending.claim(5)
    assert [sending.deliver(lease, delivery) for delivery in claimed] == ["succeeded"]
    [received] = receiver.at("/hooks/ghee")
    assert received.verify(secret)["webhook"]["event"] == "collectionitem.test"
    assert received.headers["x-shop-key"] == "42"

    delivery = Delivery.objects.get()

    def read_the_log(page):
        page.goto(f"{base}/admin/webhooks/delivery/")
        log = page.inner_text("#result_list")
        shot(page, "webhook-deliveries")
        page.goto(f"{base}/admin/webhooks/delivery/{delivery.pk}/change/")
        detail = page.inner_text("#content-main")
        shot(page, "webhook-delivery")
        return log, detail

    log, detail = browser_session(read_the_log)
    assert "collectionitem.test" in log
    assert "Status:\nSucceeded" in detail
    assert "Last status code:\n204" in detail
    assert '"editor":"ops"' in detail  # the dashboard user who sent the test event
