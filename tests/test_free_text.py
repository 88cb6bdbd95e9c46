"""Free text over HTTP, as a browser without JavaScript sends it: the list of guides' text box
(a pasted error routed to its cause's step, a typo'd description, a clarifying question, no
guide fits), "Or type your answer" at a step, and the chat presentation's forms (POST, 303)."""

from __future__ import annotations

import re

import pytest

from conftest import (
    CUSTOMER,
    Walker,
    count_sessions,
    forms,
    heading,
    launch_token,
)

LIMIT = "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."


def describe_form(html: str) -> dict:
    return next(f for f in forms(html) if f["action"].split("?")[0] == "/describe")


def describe(client, text: str, *, page: str = "/", **extra):
    """Type ``text`` into the text box of ``page`` and send it."""
    form = describe_form(client.get(page).get_data(as_text=True))
    return client.post(form["action"], data={**form["fields"], "text": text, **extra})


def session_id(location: str) -> str:
    return location.split("/")[2]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_pasted_error_opens_its_causes_step_with_the_cause_named(client, store):
    response = describe(client, LIMIT)
    assert response.status_code == 303
    row = store.get_session(session_id(response.headers["Location"]))
    assert (row.flow_id, row.step, row.position) == ("salesforce", "daily-limit", 0)
    assert row.opened_with == LIMIT
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert heading(page) == "Your org has used up its daily Salesforce API requests"
    assert "We recognised REQUEST_LIMIT_EXCEEDED" in text_of(page)
    assert f"You wrote: {LIMIT}" in text_of(page)
    # The guide goes on from there as any session does.
    answers = next(f for f in forms(page) if ("answer", "wait") in f["buttons"])
    client.post(response.headers["Location"], data={**answers["fields"], "answer": "wait"})
    assert store.get_session(row.id).step == "limit-wait"


def test_words_with_typos_open_the_guide_at_its_start(client, store):
    response = describe(client, "sales force wont conect")
    assert response.status_code == 303
    row = store.get_session(session_id(response.headers["Location"]))
    assert (row.flow_id, row.step) == ("salesforce", "detect")


def test_the_launch_token_goes_with_the_text(client, store):
    token = launch_token(client.application, "acme-salesforce")
    response = describe(client, LIMIT, page=f"/?launch={token}")
    assert response.status_code == 303
    row = store.get_session(session_id(response.headers["Location"]))
    assert row.customer_ref == CUSTOMER and row.launch_jti
    # The same token again goes back to that session rather than starting another.
    again = describe(client, LIMIT, page=f"/?launch={token}")
    assert session_id(again.headers["Location"]) == row.id
    assert count_sessions(store) == 1


def test_a_token_for_another_guide_is_refused_and_nothing_starts(client, store):
    token = launch_token(client.application, "acme-qbo", flow="quickbooks-online")
    form = describe_form(client.get("/").get_data(as_text=True))
    response = client.post("/describe", data={**form["fields"], "text": LIMIT,
                                               "launch": token})
    assert response.status_code == 400
    assert "This link is for another guide" in response.get_data(as_text=True)
    assert count_sessions(store) == 0


def test_an_ambiguous_text_asks_which_one_and_starts_the_one_chosen(client, store):
    response = describe(client, "quickbooks")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert heading(html).startswith("Is it QuickBooks Desktop")
    assert count_sessions(store) == 0
    choice = next(f for f in forms(html) if ("flow", "quickbooks-online") in f["buttons"])
    assert ("flow", "quickbooks-desktop") in choice["buttons"]
    assert ("flow", "salesforce") not in choice["buttons"]
    started = client.post(choice["action"], data={**choice["fields"],
                                                   "flow": "quickbooks-online"})
    assert started.status_code == 303
    row = store.get_session(session_id(started.headers["Location"]))
    assert (row.flow_id, row.opened_with) == ("quickbooks-online", "quickbooks")


@pytest.mark.parametrize("text", ["how do I change my billing plan", "Xero disconnected",
                                  "asdfgh"])
def test_out_of_scope_text_says_no_guide_fits_and_offers_the_list_and_a_person(
        client, store, text):
    response = describe(client, text)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert heading(html) == "No guide fits what you described"
    assert count_sessions(store) == 0
    for flow in ("salesforce", "quickbooks-online", "quickbooks-desktop"):
        assert f'href="/flows/{flow}"' in html
    assert f'href="{client.application.config["SUPPORT_URL"]}">Contact support' in html
    # What was typed is kept in the box, to say it differently.
    assert describe_form(html) and text in html


def test_an_empty_text_or_a_forged_form_starts_nothing(client, store):
    assert describe(client, "   ").status_code == 400
    assert client.post("/describe", data={"text": LIMIT}).status_code == 400
    assert count_sessions(store) == 0


def test_the_embedded_list_has_the_text_box_and_keeps_the_frame(client, store):
    page = client.get("/?embed=1").get_data(as_text=True)
    assert "Describe what's wrong, or paste the error message you see" in page
    form = describe_form(page)
    assert form["action"] == "/describe?embed=1"
    response = client.post(form["action"], data={**form["fields"], "text": LIMIT})
    assert response.headers["Location"].endswith("/0?embed=1")


def say_form(html: str) -> dict:
    return next(f for f in forms(html) if f["action"].split("?")[0].endswith("/say"))


def walk_to_confirm(client) -> Walker:
    walker = Walker(client, "salesforce")  # no connection: the checks take the manual path
    walker.answer("disconnected")
    walker.answer("connected")
    assert heading(walker.html).startswith("Is")
    return walker


def test_typed_text_at_a_step_chooses_the_answer_it_means(client, store):
    walker = walk_to_confirm(client)
    form = say_form(walker.html)
    response = client.post(form["action"], data={**form["fields"],
                                                  "text": "still red X's"})
    assert response.status_code == 303
    walker.go(response.headers["Location"])
    row = store.get_session(walker.sid)
    assert (row.step, row.outcome) == ("still-failing", "unresolved")
    last = store.transcript(walker.sid)[-1]
    assert (last.answer, last.said) == ("not-connected", "still red X's")
    assert "still red X" in walker.html  # the transcript shows what was typed


def test_unclear_text_asks_which_answer_and_the_choice_keeps_the_words(client, store):
    walker = walk_to_confirm(client)
    form = say_form(walker.html)
    before = store.get_session(walker.sid)
    response = client.post(form["action"], data={**form["fields"], "text": "hmm"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "We weren't sure which answer you meant" in html
    assert store.get_session(walker.sid).revision == before.revision  # nothing applied
    answers = next(f for f in forms(html) if any(n == "answer" for n, _ in f["buttons"]))
    assert set(answers["buttons"]) == {("answer", "connected"), ("answer", "not-connected")}
    client.post(answers["action"], data={**answers["fields"], "answer": "connected"})
    last = store.transcript(walker.sid)[-1]
    assert (last.answer, last.said) == ("connected", "hmm")


def test_typed_text_follows_the_revision_rules(client, store):
    walker = walk_to_confirm(client)
    form = say_form(walker.html)
    assert client.post(form["action"], data={**form["fields"], "text": ""}).status_code == 400
    walker.answer("connected")  # another tab answered meanwhile
    stale = client.post(form["action"], data={**form["fields"], "text": "still broken"})
    assert stale.status_code == 409
    assert store.get_session(walker.sid).outcome == "resolved"
    # Changing an earlier answer by typing replaces the later path, as choosing does.
    walker.go(f"/s/{walker.sid}/{store.get_session(walker.sid).position - 1}")
    form = say_form(walker.html)
    changed = client.post(form["action"], data={**form["fields"],
                                                 "text": "no, it still doesn't connect"})
    assert changed.status_code == 303
    assert store.get_session(walker.sid).step == "still-failing"


def test_the_chat_works_without_javascript(client, store):
    response = describe(client, LIMIT, page="/?view=chat")
    location = response.headers["Location"]
    assert location.endswith("/0?view=chat")
    html = client.get(location).get_data(as_text=True)
    assert 'class="chat-log"' in html and "We recognised REQUEST_LIMIT_EXCEEDED" in html
    assert "Tell support:" in html
    answers = next(f for f in forms(html) if ("answer", "wait") in f["buttons"])
    done = client.post(answers["action"], data={**answers["fields"], "answer": "wait"})
    assert done.status_code == 303 and done.headers["Location"].endswith("?view=chat")
    end = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Did this answer your question?" in end and 'class="chat-log"' in end
    assert "I&#39;ll wait for the limit to reset" in end  # the answer, as a message


@pytest.mark.parametrize("lang, said", [("en", "You wrote:"), ("es", "Escribiste:")])
def test_markup_typed_by_the_customer_shows_as_text_in_the_translated_sentence(client, lang,
                                                                               said):
    # "You wrote: <q>%(text)s</q>" is a translated format string: what fills it is escaped.
    typed = 'salesforce <img src=x onerror="alert(1)"> REQUEST_LIMIT_EXCEEDED'
    response = describe(client, typed, page=f"/?lang={lang}")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<img" not in page
    assert "&lt;img src=x onerror=" in page and said in page
