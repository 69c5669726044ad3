"""Drive the pages in headless Debian Chromium with the network cut off from everything but this server."""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from urllib.parse import urlparse

from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextmanager
def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


class OfflinePage:
    """A page whose requests to any host but the local server are blocked and recorded."""

    def __init__(self, browser, base_url: str):
        self.base_host = urlparse(base_url).netloc
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if urlparse(url).netloc == self.base_host or url.startswith("data:"):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


ARTIFACTS = os.path.join(os.path.dirname(__file__), "artifacts")


def wait_js(page, expression: str, timeout_ms: int = 20_000, interval_ms: int = 100):
    """Poll a JS expression with page.evaluate: the app's CSP forbids the eval that wait_for_function relies on."""
    waited = 0
    while waited < timeout_ms:
        if page.evaluate(f"(() => {{ try {{ return !!({expression}); }} catch (e) {{ return false; }} }})()"):
            return
        page.wait_for_timeout(interval_ms)
        waited += interval_ms
    raise TimeoutError(f"timed out waiting for {expression}")
