"""The wizard inside a help center, over HTTP: who may frame which page, the embedded layout
kept through links, forms and redirects, and the article's own feedback widget with the guide
it opens (browser tests: test_embed_browser.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from assistant.config import ConfigError
from conftest import answer_form, forms, heading, login, past_checks, poll_form

HOSTS = "https://help.example.com, http://localhost:5002"
HX = {"HX-Request": "true", "HX-Target": "step"}


def press_start(client, url: str):
    """Open a guide's start page at ``url`` and press its Start button, as a reader does (a GET
    starts nothing); returns the POST's response (303 to the first step)."""
    page = client.get(url)
    form = next(f for f in forms(page.get_data(as_text=True))
                if f["method"] == "post" and f["action"].startswith("/flows/"))
    return client.post(form["action"], data=form["fields"])


def ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]+)", response.headers["Content-Security-Policy"]
                     ).group(1)


def test_only_the_customers_pages_may_be_framed_and_only_by_embed_origins(make_app, admin):
    closed = make_app().test_client()
    start = closed.get("/flows/salesforce?embed=1")
    assert ancestors(start) == "'none'"  # no EMBED_ORIGINS: nobody frames anything
    client = make_app(EMBED_ORIGINS=HOSTS).test_client()
    start = client.get("/flows/salesforce?embed=1")
    step = client.get(press_start(client, "/flows/salesforce?embed=1").headers["Location"],
                      follow_redirects=True)
    widget = client.get("/embed/feedback?article=a1&embed=1")
    for response in (start, step, widget, client.get("/")):
        assert ancestors(response) == "https://help.example.com http://localhost:5002"
    login(client, admin)
    for url in ("/console/login", "/console/", "/console/analytics", "/console/sessions",
                "/embed.js/../console/"):
        assert ancestors(client.get(url)) == "'none'", url


@pytest.mark.parametrize("value", ["https://help.example.com/articles", "*",
                                   "'self'", "ftp://help.example.com", "help.example.com",
                                   "https://*.example.com", "https://help.example.com?x=1"])
def test_embed_origins_takes_origins_only(make_app, value):
    with pytest.raises(ConfigError, match="EMBED_ORIGINS"):
        make_app(EMBED_ORIGINS=f"https://ok.example.com {value}")


def test_the_embedded_layout_is_kept_through_links_forms_and_redirects(client, store):
    start = press_start(client, "/flows/salesforce?embed=1")
    assert start.status_code == 303 and start.headers["Location"].endswith("/0?embed=1")
    page = client.get(start.headers["Location"], follow_redirects=True)
    poll = poll_form(page.get_data(as_text=True))  # the live check: done (no connection)
    assert poll["action"].endswith("/0/check?embed=1")
    page = past_checks(client, page)
    html = page.get_data(as_text=True)
    assert page.request.args["embed"] == "1"
    assert 'class="embedded"' in html and "site-header" not in html and "Skip to" not in html
    assert "embed-frame.js" in html
    form = answer_form(html)
    assert form["action"].endswith("?embed=1") and form["hx-post"] == form["action"]
    links = re.findall(r'href="(/(?:s|flows)/[^"]*)"', html)
    assert links and all("embed=1" in link for link in links), links
    answered = client.post(form["action"], data={**form["fields"], "answer": "disconnected"})
    assert answered.status_code == 303 and answered.headers["Location"].endswith("?embed=1")
    page = client.get(answered.headers["Location"])
    form = answer_form(page.get_data(as_text=True))
    swapped = client.post(form["action"], headers=HX,
                          data={**form["fields"], "answer": "connected"})
    assert swapped.headers["HX-Push-Url"].endswith("?embed=1")
    # The same session outside the frame has the full layout, and no embed flag anywhere.
    sid = answered.headers["Location"].split("/")[2]
    html = client.get(f"/s/{sid}/1").get_data(as_text=True)
    assert "site-header" in html and "embed=1" not in html and "embed-frame.js" not in html


def test_the_embed_script_is_served_to_any_site(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "max-age=300" in response.headers["Cache-Control"]
    assert "document.currentScript" in response.get_data(as_text=True)


def widget(client, article="https://help.example.com/articles/reset?utm_source=mail#top",
           section="Salesforce", **extra):
    from urllib.parse import urlencode
    query = urlencode({"article": article, "section": section, "embed": "1", **extra})
    page = client.get(f"/embed/feedback?{query}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def react(client, html, reaction, expect=303, **override):
    form = forms(html)[0]
    response = client.post(form["action"], data={**form["fields"], "reaction": reaction,
                                                 **override})
    assert response.status_code == expect, response.get_data(as_text=True)[:300]
    return response


def test_the_article_widget_stores_reactions_per_article_and_section(app, client):
    feedback = app.extensions["article_feedback"]
    html = widget(client)
    assert "Did this answer your question?" in html
    assert html.count('name="reaction"') == 3 and html.count("<svg") == 3
    assert not re.search("[\U0001F300-\U0001FAFF]", html)  # icons, not emoji
    done = react(client, html, "no")
    assert "embed=1" in done.headers["Location"]
    # The same form sent again (Back, a change of mind) changes its row instead of adding one.
    react(client, html, "partly")
    react(client, widget(client, section=""), "yes")
    rows, no_guide = feedback.figures("salesforce", None, None)
    assert [(r.article, r.section, r.reactions) for r in rows] == [
        ("https://help.example.com/articles/reset", "Salesforce",
         {"yes": 0, "partly": 1, "no": 0})]
    assert no_guide == 1  # the whole article's "yes": no section, no flow named
    # Refused: no form token, a token of another article, a reaction that isn't one.
    react(client, widget(client), "no", expect=400, csrf_token="")
    react(client, widget(client), "maybe", expect=400)
    other = forms(widget(client, article="another"))[0]["fields"]["csrf_token"]
    react(client, widget(client), "no", expect=400, csrf_token=other)
    assert sum(sum(r.reactions.values()) for r in feedback.figures("salesforce", None,
                                                                    None)[0]) == 1


def test_no_offers_the_matching_guide_and_analytics_follows_the_reader(app, client, admin):
    done = react(client, widget(client, flow="salesforce", launch="TOKEN"), "no")
    result = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Let's fix it step by step" in result and "You told us: <strong>No</strong>" in result
    start = re.search(r'href="(/flows/salesforce\?[^"]+)"', result).group(1).replace("&amp;",
                                                                                     "&")
    assert "embed=1" in start and "launch=TOKEN" in start and "reaction=" in start
    # "Partly" with no guide named and no matching section: every guide is offered.
    result = client.get(react(client, widget(client, section="Elsewhere"), "partly")
                        .headers["Location"]).get_data(as_text=True)
    assert len(re.findall(r'href="/flows/', result)) == 3
    yes = client.get(react(client, widget(client), "yes").headers["Location"]).get_data(
        as_text=True)
    assert "Thank you for your feedback" in yes and "Let's fix it" not in yes

    # The reader starts the guide from the offer and finishes it resolved.
    first = press_start(client, start)
    sid = first.headers["Location"].split("/")[2]
    url = first.headers["Location"]
    for answer in ("disconnected", "connected", "connected"):
        page = past_checks(client, client.get(url, follow_redirects=True))
        form = answer_form(page.get_data(as_text=True))
        url = client.post(form["action"], data={**form["fields"], "answer": answer}
                          ).headers["Location"]
    assert heading(client.get(url).get_data(as_text=True)) == (
        "Your Salesforce connection is back")
    # Starting again from the same offer (a second tab) opens a session but counts once.
    press_start(client, start)
    rows, _ = app.extensions["article_feedback"].figures("salesforce", None, None)
    row = next(r for r in rows if r.section == "Salesforce")
    assert (row.reactions["no"], row.opened, row.resolved) == (1, 1, 1)
    store = app.extensions["assistant"].store
    assert store.get_session(sid).outcome == "resolved"

    # A forged reaction links nothing.
    forged = press_start(client, "/flows/salesforce?embed=1&reaction=1.forged")
    assert forged.status_code == 303
    rows, _ = app.extensions["article_feedback"].figures("salesforce", None, None)
    assert sum(r.opened for r in rows) == 1

    # The console's analytics shows them beside the guide's own reactions.
    login(client, admin)
    today = datetime.now(UTC).date().isoformat()
    page = client.get(f"/console/analytics?flow=salesforce&from={today}&to={today}")
    html = page.get_data(as_text=True)
    table = html[html.index('id="article-reactions"'):]
    table = table[:table.index("</table>")]
    assert "https://help.example.com/articles/reset" in table
    assert re.search(r'data-figure="no">1<', table)
    assert re.search(r'data-figure="opened">1 ', table)
    assert re.search(r'data-figure="resolved">1<', table)
    assert "led to no guide" in html
    page = client.get("/console/analytics?flow=salesforce&from=2001-01-01&to=2001-01-02")
    assert "No article reactions led to this guide" in page.get_data(as_text=True)
