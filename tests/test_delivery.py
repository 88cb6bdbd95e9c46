"""Compressed responses and fingerprinted static files (assistant/web/delivery.py)."""

from __future__ import annotations

import gzip
import re
import shutil

import brotli

from assistant.flow.watch import FlowWatcher
from assistant.web import HTMX_FILE
from assistant.web.preview import install
from conftest import FLOWS, answer_form, login, past_checks, start_session

GZIP = {"Accept-Encoding": "gzip"}


def step_page(client) -> str:
    """The URL of a new session's first step page (past its probe step, if it has one)."""
    page = client.get(start_session(client, "salesforce"), follow_redirects=True)
    return past_checks(client, page).request.path


def test_a_step_page_is_sent_gzip_encoded_when_asked_and_is_smaller(client):
    url = step_page(client)
    plain = client.get(url)
    packed = client.get(url, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers  # not asked: not compressed
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Cookie" in packed.headers["Vary"]
    body = gzip.decompress(packed.get_data())
    html = plain.get_data(as_text=True)
    # The same page (but for the per-render form token), at a fraction of the bytes.
    assert re.sub(r'value="[^"]{40,}"', "", body.decode()) == re.sub(
        r'value="[^"]{40,}"', "", html)
    assert len(packed.get_data()) * 2 < len(body)
    assert int(packed.headers["Content-Length"]) == len(packed.get_data())


def test_an_htmx_answer_is_compressed_with_brotli_when_the_browser_prefers_it(client):
    url = step_page(client)
    form = answer_form(client.get(url).get_data(as_text=True))
    answer = next(value for name, value in form["buttons"] if name == "answer")
    response = client.post(form["action"], data={**form["fields"], "answer": answer},
                           headers={"HX-Request": "true", "Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    assert "<h1" in brotli.decompress(response.get_data()).decode()


def test_a_small_response_is_not_compressed(client):
    response = client.get("/static/favicon.svg", headers=GZIP)
    assert len(response.get_data()) < 1024
    assert "Content-Encoding" not in response.headers


def test_a_csv_export_streams_uncompressed_even_when_compression_is_asked(app, admin):
    client = app.test_client()
    login(client, admin)
    response = client.get("/console/analytics/sessions.csv", buffered=False,
                          headers={"Accept-Encoding": "zstd, br, gzip, deflate"})
    assert response.status_code == 200 and response.is_streamed
    assert "Content-Encoding" not in response.headers
    assert response.get_data().decode("utf-8-sig").startswith("code,started_utc")


def assets(html: str) -> dict[str, str]:
    """The static URLs a page links, by file name."""
    return {m.group(1): m.group(0) for m in re.finditer(
        r'/static/([\w.-]+)\?v=[0-9a-f]{10}', html)}


def test_pages_link_fingerprinted_assets_cached_for_a_year(client):
    html = client.get(step_page(client)).get_data(as_text=True)
    links = assets(html)
    assert {"app.css", "app.js", "favicon.svg", HTMX_FILE} <= set(links)
    for name, url in links.items():
        response = client.get(url, headers=GZIP)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        if name != "favicon.svg":  # big enough to be worth it: sent compressed
            assert response.headers["Content-Encoding"] == "gzip", url
            assert gzip.decompress(response.get_data()), url
    embedded = client.get(step_page(client) + "?embed=1").get_data(as_text=True)
    assert "embed-frame.js" in assets(embedded)


def test_the_preview_links_its_script_fingerprinted(make_app, tmp_path):
    shutil.copy(FLOWS / "salesforce.yaml", tmp_path / "salesforce.yaml")
    app = make_app(FLOWS_PATH=[])
    install(app, FlowWatcher(tmp_path / "salesforce.yaml"))
    client = app.test_client()
    url = assets(client.get("/preview").get_data(as_text=True))["preview.js"]
    response = client.get(url)
    assert response.status_code == 200 and b"preview" in response.get_data()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_changed_file_gets_a_new_url_and_an_old_url_still_works_briefly(app, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    client = app.test_client()
    first = assets(client.get(step_page(client)).get_data(as_text=True))["app.css"]
    (static / "app.css").write_text((static / "app.css").read_text() + "\n.new { }\n")
    second = assets(client.get(step_page(client)).get_data(as_text=True))["app.css"]
    assert second != first
    fresh = client.get(second)
    assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert fresh.get_data(as_text=True).endswith(".new { }\n")
    for old in (first, "/static/app.css"):  # a cached page's link, or a hand-typed one
        response = client.get(old)
        assert response.status_code == 200 and b".new { }" in response.get_data()
        assert response.headers["Cache-Control"] == "public, max-age=300", old
    # htmx carries its version in its name: long-lived under any URL.
    response = client.get(f"/static/{HTMX_FILE}")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
