"""A real Chromium (Debian's ``chromium``, driven by Playwright; no browser download) and a
page served from its own origin on 127.0.0.1.

Playwright runs in a thread of its own: its sync API keeps an event loop running in the
thread that uses it, and Django refuses database work in such a thread (the tests and
pytest-django's teardown do database work in the main thread).

When Chromium or Playwright is missing (``scripts/install-browser.sh`` installs Chromium),
the tests fail under CI=true and skip loudly elsewhere.
"""

import functools
import http.server
import os
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
SDK_BUNDLE = REPO / "tests/sdk/js/node_modules/buttercms/dist/butter.esm.js"
INSTALL_SDK = REPO / "scripts/install-js-sdk.sh"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--no-proxy-server",
    # Every name resolves to nothing: the only reachable host is 127.0.0.1.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def unavailable(reason: str):
    if os.environ.get("CI") in ("true", "1"):
        pytest.fail(f"{reason}; CI=true requires the real-browser tests", pytrace=False)
    pytest.skip(f"!!! NOT RUN: {reason} (scripts/install-browser.sh installs it)")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("GHEE_CHROMIUM") or shutil.which("chromium")
    if not path:
        unavailable("Debian's chromium is not installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    return path


@pytest.fixture(scope="session")
def sdk_bundle() -> Path:
    if not SDK_BUNDLE.is_file():
        if not shutil.which("node"):
            unavailable("node is missing, so the npm buttercms SDK cannot be installed")
        result = subprocess.run(["bash", str(INSTALL_SDK)], capture_output=True, text=True)
        assert result.returncode == 0, f"scripts/install-js-sdk.sh failed:\n{result.stderr}"
    return SDK_BUNDLE


class _PageHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the test page at / and the SDK's ES module build at /butter.esm.js."""

    def __init__(self, *args, files: dict[str, Path], **kwargs):
        self.files = files
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        return str(self.files.get(path.split("?", 1)[0], HERE / "missing"))

    def log_message(self, format, *args):  # quiet test output
        pass


@pytest.fixture(scope="session")
def page_origin(sdk_bundle):
    """``http://127.0.0.1:<port>``: the page's origin, another port than ghee's."""
    handler = functools.partial(
        _PageHandler, files={"/": HERE / "page.html", "/butter.esm.js": sdk_bundle}
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def in_browser(chromium_path):
    """``in_browser(scenario)`` runs ``scenario(page)`` in a fresh Chromium page, in a
    thread of its own, and returns what it returned."""

    def run(scenario):
        def session():
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    return scenario(browser.new_context().new_page())
                finally:
                    browser.close()

        with ThreadPoolExecutor(max_workers=1) as executor:
            return executor.submit(session).result(timeout=120)

    return run


SCREENSHOTS = REPO / "var" / "screenshots"  # git-ignored


@pytest.fixture
def browser_session(chromium_path):
    """``run(scenario)``: ``scenario(page)`` in Chromium (own thread); cookies carry over
    from one call to the next, so the sign-in does."""
    state = {}

    def run(scenario):
        def session():
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    context = browser.new_context(
                        storage_state=state.get("storage"), viewport={"width": 1366, "height": 900}
                    )
                    page = context.new_page()
                    errors = []
                    page.on("pageerror", lambda exc: errors.append(str(exc)))
                    result = scenario(page)
                    state["storage"] = context.storage_state()
                    assert not errors, f"JavaScript errors: {errors}"
                    return result
                finally:
                    browser.close()

        with ThreadPoolExecutor(max_workers=1) as executor:
            return executor.submit(session).result(timeout=120)

    return run


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, username: str, password: str) -> None:
    """Sign in to the dashboard through its login form, landing on its index."""
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
