"""What the browser tests share: Chromium through Playwright, an app served on loopback by a
threaded werkzeug server, and axe-core."""

from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from conftest import FLOWS, REPO

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
AXE_JS = Path(os.environ.get("AXE_JS") or REPO / ".cache/axe/node_modules/axe-core/axe.min.js")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def manual_app(folder: Path, **config):
    """The app on a fresh, migrated SQLite file in ``folder`` with the shipped flows and no
    connections (every probe step takes its manual path); ``config`` overrides settings."""
    from assistant.store import upgrade
    from assistant.web import create_app
    url = f"sqlite:///{folder / 'app.db'}"
    upgrade(url)
    (folder / "connections.yaml").write_text("connections: []\n")
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-tests",
                       "FLOWS_PATH": [str(FLOWS)],
                       "CONNECTIONS_PATH": str(folder / "connections.yaml"),
                       "TOKENS_DIR": str(folder / "tokens"), **config})


@contextmanager
def serving(app):
    """Serve ``app`` on 127.0.0.1 (a free port) while the block runs; yields its base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()


@contextmanager
def chromium():
    """A headless Chromium (Debian's) driven by Playwright."""
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}: run `make test`"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe(page) -> list[str]:
    """axe-core's serious and critical violations on the page (WCAG 2.1 A/AA and best
    practice), as "rule: selectors" strings; empty when there are none."""
    assert AXE_JS.exists(), f"axe-core not found at {AXE_JS}: run `make test`"
    page.add_script_tag(path=str(AXE_JS))
    return page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa',
                                                      'best-practice']});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                           .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""")


def log_in(page, base_url: str, email: str, password: str) -> None:
    """Log into the console through its login form."""
    page.goto(base_url + "/console/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/console/login" not in url)


def start_guide(page, url: str) -> None:
    """Open a guide's start page (``url``: ``…/flows/<id>``, maybe with ``?launch=``) and press
    its Start button, as a person does; returns once the first step's address is shown."""
    page.goto(url)
    page.locator("form.start-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/s/[^/]+/\d+"))
