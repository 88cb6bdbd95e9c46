"""`assistant preview` in a real browser: the command runs as a subprocess on a temporary copy of
a shipped flow (and its tests file), with its own simulator and throwaway database; Chromium
shows the preview while the test edits the file as an author would — a new title, then a
broken reference, then the fix — and the page follows each save without a restart: the
diagram, the messages (FILE:LINE: KEY: message), the flow tests, and the walk beside them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time

import pytest
from browsing import axe

from conftest import FLOWS

pytestmark = pytest.mark.browser

OLD_TITLE = "Autofy can reach QuickBooks Online right now"
NEW_TITLE = "Autofy reaches QuickBooks Online without trouble"
WAIT = 30_000  # ms: the machine is shared; every wait ends as soon as the page shows it


@pytest.fixture
def preview(tmp_path):
    """``assistant preview`` on a copy of the QuickBooks Online flow: (base URL, flow file)."""
    flow = tmp_path / "quickbooks-online.yaml"
    shutil.copy(FLOWS / "quickbooks-online.yaml", flow)
    shutil.copy(FLOWS / "quickbooks-online.tests.yaml", tmp_path / "quickbooks-online.tests.yaml")
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "preview", str(flow),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    url = None
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        url = next((m.group(1) for line in lines
                    if (m := re.search(r"at (http://\S+)/preview", line))), None)
        time.sleep(0.1)
    try:
        assert url, f"preview did not start: {lines} {proc.stderr.read() if proc.poll() else ''}"
        yield url, flow
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()


def replace(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_preview_follows_each_save_and_keeps_the_last_good_version_walkable(browser,
                                                                                 preview):
    from playwright.sync_api import expect
    base, flow = preview
    context = browser.new_context(bypass_csp=True)  # lets axe-core be injected
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(base + "/preview")

    status, problems = page.locator("#preview-status"), page.locator("#problems")
    node_title = page.locator('#diagram-wrap g[data-step="already-working"] > title')
    walk = page.frame_locator("#preview-walk")
    expect(status).to_contain_text("valid")
    expect(page.locator("#tests-status")).to_have_text(re.compile(
        r"^(\d+) of \1 tests passed; (\d+) of \2 transitions covered \(100 %\)"))
    expect(node_title).to_have_text(re.compile("^" + re.escape(OLD_TITLE)))
    # The real wizard beside it: Start runs its live check against the simulator, which
    # answers healthy.
    expect(walk.locator("#step-heading")).to_have_text("Reset your QuickBooks Online connection")
    walk.get_by_role("button", name=re.compile(r"^(Start|Check my connection)$")).click()
    expect(walk.locator("#step-heading")).to_have_text(OLD_TITLE)
    assert axe(page) == []

    # 1. A new title: the diagram and the step being walked show it, without a restart.
    replace(flow, f"title: {OLD_TITLE}", f"title: {NEW_TITLE}")
    expect(node_title).to_have_text(re.compile("^" + re.escape(NEW_TITLE)))
    expect(walk.locator("#step-heading")).to_have_text(NEW_TITLE)
    expect(page.locator("#announcer")).to_contain_text("valid")

    # 2. A broken edit: the message names file, line and key; the last good version stays.
    text = flow.read_text()
    start = text.index("  already-working:")
    at = text.index("next: connected-resolved", start)
    line = text.count("\n", 0, at) + 1
    flow.write_text(text[:at] + "next: connected-resolvd" + text[at + 24:])
    expect(problems).to_contain_text(
        f"{flow}:{line}: steps.already-working.answers[0].next: ")
    expect(problems).to_contain_text("connected-resolvd")
    expect(status).to_contain_text("The file has 1 problem")
    expect(page.locator("#tests-status")).to_contain_text("Not run")
    expect(page.locator("#diagram-title")).to_contain_text("last good version")
    expect(node_title).to_have_text(re.compile("^" + re.escape(NEW_TITLE)))
    # ... and walkable: the walk goes on in the last good version.
    walk.get_by_role("button", name="I still see an error — reset the connection").click()
    expect(walk.locator("#step-heading")).to_have_text("Disconnect QuickBooks Online")

    # 3. Fixed again: the problems go, the checks and tests pass again.
    flow.write_text(text)
    expect(status).to_contain_text("valid")
    expect(problems).to_have_count(0)
    expect(page.locator("#tests-status")).to_contain_text("tests passed")
    expect(page.locator("#diagram-title")).not_to_contain_text("last good version")
    expect(walk.locator("#step-heading")).to_have_text("Disconnect QuickBooks Online")
    context.close()
