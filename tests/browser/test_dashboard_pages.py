"""Every dashboard page in a real Chromium under the dashboard's Content-Security-Policy
(issue 21 items 3 and 7, issue 20 item 7).

One world with a row of every kind (organization with locales, tokens, users, a
collection with items and jobs, a media asset, a webhook endpoint with a delivery and an
attempt), then every page: each registered model's list, add form and change form, the
custom views (collections, an item's list, edit, add and delete pages, a job's page, the
media upload, the webhook rotate confirmation and secret page, the token created and
revoke pages, history, delete confirmations, password change) and the start page.

Each page must answer 200 with no CSP violation (the browser's ``securitypolicyviolation``
events and its console's "Refused to ..." lines), no JavaScript error, the site icon, and
no horizontal overflow at 1280 px. Media is served from another origin (a second server
on 127.0.0.1), as with a ``GHEE_PUBLIC_URL`` or CDN the page was not opened at: its
thumbnails must load.
"""

import contextlib
import functools
import http.server
import io
import threading

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from ghee.accounts.services import create_token
from ghee.content.models import Item, Job
from ghee.content.write.jobs import run_pending_jobs
from ghee.media.services import add_upload
from ghee.webhooks import sending, services
from ghee.webhooks.models import Delivery
from tests.browser.conftest import shot
from tests.conftest import make_collection
from tests.media.samples import png_bytes

pytestmark = pytest.mark.slow

PASSWORD = "a long enough passphrase 42"
WIDTH = 1280

# Collects CSP violations from the first moment of every document (Playwright's init
# scripts run outside the page's CSP).
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
    + (e.sourceFile ? ' at ' + e.sourceFile + ':' + e.lineNumber : ''));
});
"""

MEASURE = """() => ({
  csp: window.__csp || [],
  icon: !!document.querySelector('link[rel=icon]'),
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  // A list wider than its box is cut off (its scroll bar sits below the last row).
  cut: [...document.querySelectorAll('#changelist-form .results')]
    .map((box) => box.scrollWidth - box.clientWidth).filter((px) => px > 0),
  images: [...document.images].filter((img) => img.complete && img.naturalWidth === 0)
    .map((img) => img.src),
})"""

BUTTON_STYLES = """() => {
  const style = (el) => {
    const s = getComputedStyle(el);
    return [s.backgroundColor, s.color, s.textTransform, s.fontSize, s.borderRadius,
      s.borderTopWidth, s.cursor === 'pointer' || el.tagName === 'A'];
  };
  return [style(document.querySelector('.object-tools button.ghee-tool-button')),
    style(document.querySelector('.object-tools a.historylink'))];
}"""


@pytest.fixture
def media_origin(settings, tmp_path):
    """Media files on another origin than the dashboard's (a second loopback server)."""
    root = tmp_path / "media"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "ghee.media.storage.MediaFileStorage",
            "OPTIONS": {"location": root, "base_url": f"{origin}/"},
        },
    }
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    yield origin
    server.shutdown()
    server.server_close()


@pytest.fixture
def world(live_server, django_user_model, org_locales, api, media_origin, settings):
    """A row of every kind, and the URL of every dashboard page that shows them."""
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.GHEE_EGRESS_ALLOW_PORTS = [live_server.thread.port]
    org = org_locales
    admin_user = django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    create_token(org, "read", "site reader")
    write = create_token(org, "write", "importer")[1]
    people = make_collection(
        org,
        "people",
        [
            {"key": "name", "type": "short_text", "required": True},
            {"key": "photo", "type": "media", "translatable": False},
            {"key": "friend", "type": "reference", "reference_to": "people"},
        ],
        name="People",
        label="name",
    )
    asset, _ = add_upload(org.pk, io.BytesIO(png_bytes(64, 48)), "face.png", alt="A face")
    answer = api.post(
        "/v2/content/",
        {
            "key": "people",
            "status": "published",
            "fields": [{"en": {"name": "Ada", "photo": asset.url}, "es": {"name": "Ada"}}],
        },
        format="json",
        HTTP_AUTHORIZATION=f"Token {write}",
    )
    assert answer.status_code == 202, answer.content
    run_pending_jobs()
    item = Item.objects.get()
    api.patch(
        f"/v2/content/people/{item.pk}/",
        {"status": "draft"},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write}",
    )
    run_pending_jobs()
    endpoint, _ = services.create_endpoint(
        org, "https://hooks.example.com/in", "collectionitem.all", headers={"X-Key": "k"}
    )
    services.send_test_event(endpoint)
    lease, claimed = sending.claim(5)
    sending.deliver(lease, claimed[0])  # fails: the name does not resolve in tests
    delivery = Delivery.objects.get()

    request = RequestFactory().get("/admin/")
    request.user = admin_user
    pages = ["/", "/admin/"]
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{name}_changelist"))
        if model_admin.has_add_permission(request):
            pages.append(reverse(f"{name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            # The content editor's items have pages of their own (below).
            with contextlib.suppress(NoReverseMatch):
                pages.append(reverse(f"{name}_change", args=[first.pk]))
    job = Job.objects.order_by("pk").first()
    pages += [
        reverse("admin:content_item_list", args=[people.pk]),
        reverse("admin:content_item_create", args=[people.pk]),
        reverse("admin:content_item_edit", args=[people.pk, item.pk]),
        reverse("admin:content_item_remove", args=[people.pk, item.pk]),
        reverse("admin:content_item_job", args=[job.pk]),
        reverse("admin:webhooks_endpoint_rotate", args=[endpoint.pk]),
        reverse("admin:webhooks_endpoint_history", args=[endpoint.pk]),
        reverse("admin:webhooks_endpoint_delete", args=[endpoint.pk]),
        reverse("admin:media_mediaasset_delete", args=[asset.pk]),
        reverse("admin:content_collection_delete", args=[people.pk]),
        reverse("admin:auth_user_password_change", args=[admin_user.pk]),
        reverse("admin:password_change"),
    ]
    return {
        "base": live_server.url.replace("localhost", "127.0.0.1"),
        "pages": list(dict.fromkeys(pages)),
        "endpoint": endpoint,
        "delivery": delivery,
        "asset": asset,
        "item": item,
        "people": people,
    }


def open_page(page, url: str, seen: dict) -> None:
    """Go to ``url`` (or stay, if ``url`` is None: the page an action led to) and record
    what a reader would notice."""
    if url is not None:
        response = page.goto(url)
        assert response.status == 200, f"{url}: HTTP {response.status}"
    page.wait_for_load_state("load")
    page.wait_for_function("() => [...document.images].every((img) => img.complete)")
    seen[url or page.url] = page.evaluate(MEASURE)


def test_every_dashboard_page_keeps_the_content_security_policy(browser_session, world):
    base = world["base"]
    console = []

    def visit(page):
        page.set_viewport_size({"width": WIDTH, "height": 900})
        page.add_init_script(WATCH_CSP)
        page.on("console", lambda m: console.append(f"{page.url}: {m.text}"))
        seen = {}
        open_page(page, f"{base}/admin/login/", seen)
        page.fill("#id_username", "ops")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        for path in world["pages"]:
            open_page(page, f"{base}{path}", seen)
        shot(page, "dashboard-last-page")

        # Pages that only a POST leads to: a token's text, the revoke confirmation, a
        # rotated secret, a delivery's re-send, the test event.
        page.goto(f"{base}/admin/accounts/apitoken/add/")
        page.select_option("#id_organization", label="Globex")
        page.select_option("#id_kind", "read")
        page.fill("#id_name", "made here")
        page.click("input[name=_save]")
        open_page(page, None, seen)
        page.goto(f"{base}/admin/accounts/apitoken/")
        page.locator("#result_list tr", has_text="made here").locator(".action-select").check()
        page.select_option("select[name=action]", "revoke")
        page.click("button[name=index]")
        open_page(page, None, seen)
        page.click("#confirm-revoke")
        open_page(page, None, seen)
        endpoint = world["endpoint"]
        page.goto(f"{base}/admin/webhooks/endpoint/{endpoint.pk}/change/")
        seen["button styles"] = page.evaluate(BUTTON_STYLES)
        # Rotating asks first, and works without JavaScript.
        plain = page.context.browser.new_context(
            java_script_enabled=False, storage_state=page.context.storage_state()
        ).new_page()
        plain.goto(f"{base}/admin/webhooks/endpoint/{endpoint.pk}/change/")
        plain.click("text=Rotate secret")
        seen["rotate asks"] = plain.inner_text("#content-main")
        plain.click("#confirm-rotate")
        seen["rotated secret"] = plain.inner_text("#webhook-secret")
        plain.context.close()
        page.goto(f"{base}/admin/webhooks/endpoint/{endpoint.pk}/rotate/")
        page.click("#confirm-rotate")
        page.wait_for_selector("#webhook-secret")
        open_page(page, None, seen)
        page.goto(f"{base}/admin/webhooks/endpoint/{endpoint.pk}/change/")
        page.click("text=Send test event")
        open_page(page, None, seen)
        page.goto(f"{base}/admin/webhooks/delivery/{world['delivery'].pk}/change/")
        page.click("text=Re-send")
        open_page(page, None, seen)
        icon = page.request.get(f"{base}/favicon.ico")
        seen["favicon.ico"] = (icon.status, icon.headers["content-type"])
        page.goto(f"{base}/admin/")
        page.click("#logout-form button")
        open_page(page, None, seen)
        return seen

    seen = browser_session(visit)
    assert seen.pop("favicon.ico") == (200, "image/x-icon")
    # The buttons among an endpoint's tools look like the links beside them.
    test_button, history_link = seen.pop("button styles")
    assert test_button == history_link
    assert "Make a new signing secret" in seen.pop("rotate asks")
    assert seen.pop("rotated secret").startswith("whsec_")
    assert len(seen) >= 40, sorted(seen)  # every page above was visited
    violations = {url: found["csp"] for url, found in seen.items() if found["csp"]}
    assert violations == {}
    refused = [line for line in console if "Content Security Policy" in line or "Refused" in line]
    assert refused == []
    assert [url for url, found in seen.items() if not found["icon"]] == []
    assert {url: found["overflow"] for url, found in seen.items() if found["overflow"] > 0} == {}
    assert {url: found["cut"] for url, found in seen.items() if found["cut"]} == {}
    assert {url: found["images"] for url, found in seen.items() if found["images"]} == {}
