"""The media library in a real browser (issue 11 item 4): sign in, upload an image on the
library's upload page, and see its thumbnail load in the grid."""

import pytest

from ghee.accounts.services import create_organization
from ghee.media.models import MediaAsset
from tests.browser.conftest import REPO
from tests.media import samples

pytestmark = pytest.mark.slow

PASSWORD = "a long enough password 42"
SCREENSHOTS = REPO / "var/screenshots"  # git-ignored


@pytest.fixture
def ghee(live_server, settings, tmp_path, django_user_model):
    base = live_server.url.replace("localhost", "127.0.0.1")
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "ghee.media.storage.MediaFileStorage",
            "OPTIONS": {"location": root, "base_url": f"{base}/media/"},
        },
    }
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    create_organization("acme", "Acme")
    django_user_model.objects.create_superuser("editor", "editor@example.com", PASSWORD)
    image = tmp_path / "sunset.png"
    image.write_bytes(samples.png_bytes(64, 48, color=(250, 120, 30)))
    return {"base": base, "image": image}


def test_upload_an_image_and_see_its_thumbnail(in_browser, ghee):
    def scenario(page):
        page.goto(f"{ghee['base']}/admin/login/?next=/admin/media/mediaasset/")
        page.fill("#id_username", "editor")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/media/mediaasset/")
        page.click("text=Upload a file")
        page.set_input_files("#id_file", str(ghee["image"]))
        page.fill("#id_alt_text", "A sunset")
        page.click("input[name=_upload]")
        page.wait_for_url("**/admin/media/mediaasset/")
        thumbnail = page.locator(".media-card img")
        thumbnail.wait_for()
        page.wait_for_function(
            "() => { const img = document.querySelector('.media-card img');"
            " return img && img.complete && img.naturalWidth > 0; }"
        )
        page.screenshot(path=str(SCREENSHOTS / "media-library.png"), full_page=True)
        return {
            "message": page.locator(".messagelist").inner_text(),
            "alt": thumbnail.get_attribute("alt"),
            "size": thumbnail.evaluate("img => [img.naturalWidth, img.naturalHeight]"),
            "facts": page.locator(".media-card .media-facts").inner_text(),
        }

    seen = in_browser(scenario)
    asset = MediaAsset.objects.get()
    assert seen["message"] == "Uploaded sunset.png"
    assert seen["alt"] == "A sunset"
    assert seen["size"] == [64, 48]  # the browser loaded the stored file
    assert seen["facts"] == f"image/png · {asset.size}\xa0bytes · 64 x 48"
