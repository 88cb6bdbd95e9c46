"""The wizard over HTTP (Flask's test client on a real SQLite database)."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from assistant.flow import graph
from conftest import (
    Walker,
    answer_form,
    count_sessions,
    forms,
    heading,
    poll_form,
    start_form,
)

HX = {"HX-Request": "true"}


def test_start_page_lists_the_flows(client):
    html = client.get("/").get_data(as_text=True)
    assert "What are you trying to connect?" in html
    for title in ("Reset your QuickBooks Desktop connection",
                  "Reset your QuickBooks Online connection", "Reset your Salesforce connection"):
        assert title in html


def test_starting_a_flow_makes_an_unguessable_session(client):
    a, b = Walker(client, "salesforce"), Walker(client, "salesforce")
    assert a.sid != b.sid and len(a.sid) >= 22
    # No connection to check: the first step (a live check) falls back to the article's steps.
    assert a.url == f"/s/{a.sid}/1"
    assert heading(a.html) == "Disconnect Salesforce"


def test_unknown_flow_and_unknown_session_are_404(client):
    assert client.get("/flows/nope").status_code == 404
    assert client.get("/s/not-a-session/0").status_code == 404
    # A form token is made for one session's pages: another session's is refused before
    # anything is looked up (no page of an unknown session ever had a form).
    token = answer_form(Walker(client, "salesforce").html)["fields"]["csrf_token"]
    for url in ("/s/not-a-session/0", "/s/not-a-session/feedback", "/s/not-a-session/support"):
        response = client.post(url, data={"csrf_token": token, "revision": "0", "answer": "x"})
        assert response.status_code == 400, url


def test_no_js_walk_posts_and_redirects_with_full_pages(client, store):
    w = Walker(client, "salesforce")
    assert "<html" in w.html and 'id="step"' in w.html
    response = w.answer("disconnected")
    assert response.status_code == 303 and response.headers["Location"] == f"/s/{w.sid}/2"
    assert heading(w.html) == "Connect to Salesforce again"
    assert "Your answers so far" in w.html and "I clicked Disconnect" in w.html
    w.answer("connected")
    w.answer("connected")
    assert heading(w.html) == "Your Salesforce connection is back"
    assert "Did this answer your question?" in w.html
    row = store.get_session(w.sid)
    assert (row.status, row.outcome, row.position, row.revision) == ("ended", "resolved", 5, 5)
    assert [line.answer for line in store.transcript(w.sid)] == [
        "unavailable", "disconnected", "connected", "unavailable", "connected"]


def test_htmx_answer_returns_a_fragment_and_the_new_url(client):
    w = Walker(client, "salesforce")
    form = answer_form(w.html)
    assert form["hx-post"] == form["action"]
    response = client.post(form["action"], data={**form["fields"], "answer": "disconnected"},
                           headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == f"/s/{w.sid}/2"
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in html and "<title>Connect to Salesforce again" in html
    assert "autofocus" in html
    page = client.get(f"/s/{w.sid}/2", headers=HX)
    assert "<html" not in page.get_data(as_text=True)
    full = client.get(f"/s/{w.sid}/2")
    assert "<html" in full.get_data(as_text=True) and "Vary" in full.headers


def test_every_path_of_every_flow_over_http(app, client, store):
    flows = app.extensions["assistant"].flows
    for flow in flows.values():
        for walk in graph.paths(flow):
            # With no connection every live check is "unavailable": its steps are skipped and
            # the paths they take are the manual ones ("otherwise"); the engine tests and the
            # simulator tests cover the others.
            if any(flow.steps[s].is_probe and a != "otherwise" for s, a in walk):
                continue
            w = Walker(client, flow.id)
            for step_id, answer_id in walk:
                if flow.steps[step_id].is_probe:
                    continue
                assert heading(w.html) == flow.steps[step_id].title
                w.answer(answer_id)
            end = store.get_session(w.sid)
            assert end.status == "ended" and end.outcome == flow.steps[end.step].outcome
            assert "Did this answer your question?" in w.html


def test_forged_answer_is_refused_and_nothing_changes(client, store):
    w = Walker(client, "quickbooks-desktop")
    form = answer_form(w.html)
    for forged in ("connected-resolved", "to_connected-resolved", "removed", ""):
        response = client.post(form["action"], data={**form["fields"], "answer": forged})
        assert response.status_code == 400
        assert "one of the choices for this step" in response.get_data(as_text=True)
    # Nor can a probe step be answered by a form: only its check decides.
    response = client.post(f"/s/{w.sid}/0", data={**form["fields"], "answer": "connected"})
    assert response.status_code == 400
    assert "checked automatically" in response.get_data(as_text=True)
    row = store.get_session(w.sid)
    assert (row.step, row.revision, row.position) == ("agent-status", 1, 1)
    assert [line.answer for line in store.transcript(w.sid)] == ["unavailable"]


def test_double_submit_applies_once_and_says_so(client, store):
    w = Walker(client, "salesforce")
    form = answer_form(w.html)
    first = client.post(form["action"], data={**form["fields"], "answer": "disconnected"})
    second = client.post(form["action"], data={**form["fields"], "answer": "disconnected"})
    assert first.status_code == 303 and second.status_code == 409
    body = second.get_data(as_text=True)
    assert "Nothing was applied twice" in body and heading(body) == "Connect to Salesforce again"
    assert len(store.transcript(w.sid)) == 2 and store.get_session(w.sid).revision == 2


def test_tampered_or_missing_revision_is_refused(client, store):
    w = Walker(client, "salesforce")
    form = answer_form(w.html)
    for revision in ("7", "-1", "abc", None):
        data = {**form["fields"], "answer": "disconnected"}
        if revision is None:
            del data["revision"]
        else:
            data["revision"] = revision
        assert client.post(form["action"], data=data).status_code in (400, 409)
    assert store.get_session(w.sid).revision == 1


def test_back_shows_the_step_as_last_seen_and_changing_the_answer_rewinds(client, store):
    w = Walker(client, "quickbooks-desktop")
    w.answer("disconnected")
    w.answer("two-green-check-marks")
    back = client.get(f"/s/{w.sid}/2")
    html = back.get_data(as_text=True)
    assert heading(html) == "Step 1: Is the Autofy Agent open with two green check marks?"
    assert "You answered <strong>Yes, I see two green check marks</strong>" in html
    # The same answer again changes nothing (it is not applied twice).
    form = answer_form(html)
    same = client.post(form["action"], data={**form["fields"], "answer": "two-green-check-marks"})
    assert same.status_code == 303 and same.headers["Location"] == f"/s/{w.sid}/3"
    assert store.get_session(w.sid).revision == 3
    # A different answer replaces the later path.
    other = client.post(form["action"], data={**form["fields"], "answer": "no-green-check-marks"})
    assert other.headers["Location"] == f"/s/{w.sid}/3"
    row = store.get_session(w.sid)
    assert (row.step, row.outcome, row.revision) == ("agent-setup-guide", "unresolved", 4)
    assert [line.answer for line in store.transcript(w.sid)] == [
        "unavailable", "disconnected", "no-green-check-marks"]


def test_a_position_past_the_current_one_redirects_to_the_current_step(client):
    w = Walker(client, "salesforce")
    response = client.get(f"/s/{w.sid}/5")
    assert response.status_code == 303 and response.headers["Location"] == f"/s/{w.sid}/1"
    assert client.get(f"/s/{w.sid}").headers["Location"] == f"/s/{w.sid}/1"


def test_step_pages_are_not_cached_and_do_not_leak_the_url(client):
    w = Walker(client, "salesforce")
    assert w.page.headers["Cache-Control"] == "no-store"
    assert w.page.headers["Referrer-Policy"] == "same-origin"
    assert w.page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "script-src 'self'" in w.page.headers["Content-Security-Policy"]


def finish(client, flow_id, answers):
    w = Walker(client, flow_id)
    for a in answers:
        w.answer(a)
    return w


def feedback_form(html):
    return next(f for f in forms(html) if f["action"].endswith("/feedback"))


def test_feedback_is_stored_with_flow_version_and_end_step(app, client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "connected"])
    form = feedback_form(w.html)
    response = client.post(form["action"], data={**form["fields"], "reaction": "yes",
                                                  "comment": "  Quick and clear  "})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you for your feedback" in page and "Contact support" not in page
    row = store.feedback_for(store.get_session(w.sid))
    flow = app.extensions["assistant"].flows["salesforce"]
    assert (row.reaction, row.comment, row.end_step, row.flow_version) == (
        "yes", "Quick and clear", "connected-resolved", flow.version)
    # Submitting the same page again replaces, it does not add.
    client.post(form["action"], data={**form["fields"], "reaction": "partly"})
    assert store.feedback_for(store.get_session(w.sid)).reaction == "partly"


def test_negative_feedback_offers_contact_support(client):
    w = finish(client, "salesforce", ["disconnected", "connected", "connected"])
    form = feedback_form(w.html)
    response = client.post(form["action"], data={**form["fields"], "reaction": "no"},
                           headers=HX)
    html = response.get_data(as_text=True)
    assert "Thank you for your feedback" in html
    assert f'href="/s/{w.sid}/support"' in html


def test_oversized_comment_is_refused_and_kept(client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "connected"])
    form = feedback_form(w.html)
    long = "x" * 1001
    response = client.post(form["action"], data={**form["fields"], "reaction": "no",
                                                  "comment": long})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Your comment has 1,001 characters; the limit is 1,000" in html
    assert long in html and 'value="no" checked' in html  # nothing typed is lost
    assert store.feedback_for(store.get_session(w.sid)) is None


def test_feedback_needs_a_reaction(client):
    w = finish(client, "salesforce", ["disconnected", "connected", "connected"])
    form = feedback_form(w.html)
    response = client.post(form["action"], data={**form["fields"], "reaction": "maybe"})
    assert response.status_code == 400 and "Choose Yes, Partly or No." in response.get_data(
        as_text=True)


def test_feedback_before_the_end_is_refused(client, store):
    w = Walker(client, "salesforce")
    form = answer_form(w.html)
    response = client.post(f"/s/{w.sid}/feedback", data={**form["fields"], "reaction": "yes"})
    assert response.status_code == 409
    assert store.feedback_for(store.get_session(w.sid)) is None


def test_unresolved_end_hands_off_with_the_transcript(client, store):
    w = finish(client, "quickbooks-online", ["disconnected", "connected", "not-connected"])
    assert "Contact support" in w.html and "Possible causes" in w.html
    assert "QuickBooks Online may be unavailable" in w.html
    # Reaching the unresolved end handed the session off already; the form still asks for
    # an address and a message, and a refused form adds nothing to that handoff.
    [auto] = store.handoffs_for(w.sid)
    page = client.get(f"/s/{w.sid}/support")
    assert "H-00001" in page.get_data(as_text=True)
    form = next(f for f in forms(page.get_data(as_text=True)) if f["action"].endswith("support"))
    bad = client.post(form["action"], data={**form["fields"], "contact": "not an email",
                                            "message": "Tried twice"})
    assert bad.status_code == 400 and "Tried twice" in bad.get_data(as_text=True)
    [auto] = store.handoffs_for(w.sid)
    assert (auto.contact, auto.message) == (None, None)
    ok = client.post(form["action"], data={**form["fields"], "contact": "ann@example.com",
                                           "message": "Tried twice"})
    assert ok.status_code == 303
    done = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "Support has your session" in done and "H-00001" in done
    [handoff] = store.handoffs_for(w.sid)
    assert handoff.reason == "unresolved_end" and handoff.contact == "ann@example.com"
    assert [t["answer"] for t in handoff.transcript] == [
        "unavailable", "disconnected", "connected", "unavailable", "not-connected"]
    assert handoff.transcript[0]["answer_label"].startswith("Checked automatically: ")
    assert handoff.transcript[-1]["step_title"] == "Is QuickBooks Online connected now?"
    # Sending again does not make a second handoff.
    client.post(form["action"], data={**form["fields"], "message": "again"})
    assert len(store.handoffs_for(w.sid)) == 1


def test_csrf_is_enforced_and_the_session_stays_intact(client, store):
    w = Walker(client, "salesforce")
    form = answer_form(w.html)
    data = {**form["fields"], "answer": "disconnected"}
    for token in ("forged", None):
        if token is None:
            data.pop("csrf_token")
        else:
            data["csrf_token"] = token
        response = client.post(form["action"], data=data)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "nothing was changed" in html and heading(html) == "Disconnect Salesforce"
    assert store.get_session(w.sid).revision == 1


def test_a_form_token_of_another_session_is_refused_and_no_cookie_is_needed(app, client,
                                                                           store):
    w = Walker(client, "salesforce")
    other = Walker(app.test_client(), "salesforce")
    form = answer_form(w.html)
    forged = {**form["fields"], "answer": "disconnected",
              "csrf_token": answer_form(other.html)["fields"]["csrf_token"]}
    response = client.post(form["action"], data=forged)
    assert response.status_code == 400 and store.get_session(w.sid).revision == 1
    # The wizard sets no cookie, and a browser that sends none (a help center's frame with
    # third-party cookies blocked) answers with the session's own form.
    assert client.get_cookie("session") is None
    cookieless = app.test_client(use_cookies=False)
    response = cookieless.post(form["action"], data={**form["fields"], "answer": "disconnected"})
    assert response.status_code == 303 and store.get_session(w.sid).revision == 2


def test_a_form_made_before_the_secret_key_changed_still_answers(make_app, store):
    old = make_app()
    w = Walker(old.test_client(), "salesforce")
    form = answer_form(w.html)
    data = {**form["fields"], "answer": "disconnected"}
    rotated = make_app(SECRET_KEY="a-new-secret", SECRET_KEY_FALLBACKS=["test-secret"])
    assert rotated.test_client().post(form["action"], data=data).status_code == 303
    assert store.get_session(w.sid).revision == 2
    # Without the old key among the fallbacks, the same form is refused, nothing applied.
    data["revision"] = "2"
    fresh = make_app(SECRET_KEY="a-new-secret")
    assert fresh.test_client().post(form["action"], data=data).status_code == 400
    assert store.get_session(w.sid).revision == 2


def test_a_session_whose_step_left_the_flow_is_gone_not_an_error(app, client, store):
    w = Walker(client, "salesforce")
    store.record_answer(store.get_session(w.sid), "v1", 0, "disconnect", "disconnected",
                        "removed-step", {}, None)
    response = client.get(f"/s/{w.sid}/1")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "has been changed or removed" in html
    # The customer can still tell support which session it was.
    code = store.get_session(w.sid).code
    assert f'<span class="share-code">{code}</span>' in html
    # An answer posted from the old page gets the same page; the session stays as it was.
    before = store.get_session(w.sid).revision
    posted = client.post(f"/s/{w.sid}/1", data={**answer_form(w.html)["fields"],
                                                "answer": "connected", "revision": before})
    assert posted.status_code == 410 and code in posted.get_data(as_text=True)
    assert store.get_session(w.sid).revision == before


def test_an_earlier_step_that_left_the_flow_shows_the_current_one(client, store):
    w = Walker(client, "salesforce")
    row = store.record_answer(store.get_session(w.sid), "v1", 0, "old-step", "old-answer",
                              "connect", {}, None)
    page = client.get(f"/s/{w.sid}/0")
    assert page.status_code == 200 and heading(page.get_data(as_text=True)) == (
        "Connect to Salesforce again")
    form = answer_form(page.get_data(as_text=True))
    response = client.post(f"/s/{w.sid}/0", data={**form["fields"], "answer": "connected"})
    assert response.status_code == 409 and store.get_session(w.sid).revision == row.revision


@pytest.mark.parametrize("url", ["/", "/s/unknown/0"])
def test_pages_name_themselves(client, url):
    html = client.get(url).get_data(as_text=True)
    assert "<title>" in html and 'lang="en"' in html


def test_a_long_path_shows_the_last_answers_and_can_show_all(make_app, tmp_path):
    steps = "".join(f"""
  s{i}:
    kind: instruction
    title: Step number {i}
    answers: [{{id: next, label: Next from {i}, next: s{i + 1}}}]""" for i in range(30))
    (tmp_path / "long.yaml").write_text(f"""\
id: long
title: Long
system: demo
summary: Thirty steps in a row.
source: {{title: Test}}
start: s0
steps:{steps}
  s30: {{kind: end, outcome: resolved, title: Done}}
""")
    client = make_app(FLOWS_PATH=[str(tmp_path / "long.yaml")]).test_client()
    w = Walker(client, "long")
    for _ in range(25):
        w.answer("next")
    assert heading(w.html) == "Step number 25"
    assert "15 earlier answers not shown" in w.html
    shown = [int(i) for i in re.findall(r"Next from (\d+)\s*<a", w.html)]
    assert shown == list(range(15, 25))
    everything = client.get(f"{w.url}?answers=all").get_data(as_text=True)
    assert "earlier answers" not in everything
    assert [int(i) for i in re.findall(r"Next from (\d+)\s*<a", everything)] == list(range(25))


def test_https_forms_work_with_or_without_a_referer(make_app):
    # The wizard's form token is not Flask-WTF's (whose HTTPS check wants a same-origin
    # Referer): a frame in a help center whose browser drops the Referer still answers. The
    # console's forms keep Flask-WTF.
    client = make_app().test_client()
    start_page = client.get("/flows/salesforce", base_url="https://help.example")
    form = start_form(start_page.get_data(as_text=True), "salesforce")
    start = client.post(form["action"], data=form["fields"],
                        base_url="https://help.example")  # no Referer: started all the same
    assert start.status_code == 303
    page = client.get(start.headers["Location"], base_url="https://help.example",
                      follow_redirects=True)  # the live check: done (no connection here)
    poll = poll_form(page.get_data(as_text=True))
    page = client.post(poll["action"], data=poll["fields"], base_url="https://help.example",
                       headers={"Referer": f"https://help.example{page.request.path}"},
                       follow_redirects=True)  # Continue, past the live check
    url, html = page.request.path, page.get_data(as_text=True)
    form = answer_form(html)
    data = {**form["fields"], "answer": "disconnected"}
    ok = client.post(url, data=data, base_url="https://help.example")
    assert ok.status_code == 303
    page = client.get(ok.headers["Location"], base_url="https://help.example")
    form = answer_form(page.get_data(as_text=True))
    ok = client.post(form["action"], data={**form["fields"], "answer": "connected"},
                     base_url="https://help.example",
                     headers={"Referer": f"https://help.example{form['action']}"})
    assert ok.status_code == 303


def test_refused_htmx_post_replaces_the_address_with_the_shown_step(client):
    w = Walker(client, "salesforce")
    form = answer_form(w.html)
    client.post(form["action"], data={**form["fields"], "answer": "disconnected"})
    stale = client.post(form["action"], data={**form["fields"], "answer": "disconnected"},
                        headers=HX)
    assert stale.status_code == 409 and stale.headers["HX-Replace-Url"] == f"/s/{w.sid}/2"


def test_a_failed_csrf_check_keeps_what_was_typed(client, store):
    w = finish(client, "quickbooks-online", ["disconnected", "connected", "not-connected"])
    form = feedback_form(w.html)
    response = client.post(form["action"], data={**form["fields"], "csrf_token": "expired",
                                                  "reaction": "no", "comment": "Keep me"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Keep me" in html and 'value="no" checked' in html
    response = client.post(f"/s/{w.sid}/support", data={"csrf_token": "expired",
                                                         "message": "My words"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "My words" in html and "nothing was changed" in html
    # (The unresolved end made a handoff by itself; the refused form added nothing to it.)
    assert [h.message for h in store.handoffs_for(w.sid)] == [None]
    assert store.feedback_for(store.get_session(w.sid)) is None


def test_feedback_from_a_tab_that_reached_the_same_end_again_is_kept(client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "not-connected"])
    old_form = feedback_form(w.html)
    # Another tab goes back, answers "yes" and then walks back to the same end step.
    back = answer_form(client.get(f"/s/{w.sid}/4").get_data(as_text=True))
    client.post(back["action"], data={**back["fields"], "answer": "connected"})
    back = answer_form(client.get(f"/s/{w.sid}/4").get_data(as_text=True))
    client.post(back["action"], data={**back["fields"], "answer": "not-connected"})
    response = client.post(old_form["action"], data={**old_form["fields"], "reaction": "no",
                                                      "comment": "Still broken"})
    assert response.status_code == 303
    assert store.feedback_for(store.get_session(w.sid)).comment == "Still broken"


def test_feedback_for_an_end_the_session_left_is_refused_and_kept_on_screen(client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "not-connected"])
    old_form = feedback_form(w.html)
    back = answer_form(client.get(f"/s/{w.sid}/4").get_data(as_text=True))
    client.post(back["action"], data={**back["fields"], "answer": "connected"})
    response = client.post(old_form["action"], data={**old_form["fields"], "reaction": "no",
                                                      "comment": "Typed words"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Your feedback was not saved" in html
    assert heading(html) == "Your Salesforce connection is back" and "Typed words" in html


def test_a_second_feedback_with_a_problem_shows_the_problem(client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "connected"])
    form = feedback_form(w.html)
    client.post(form["action"], data={**form["fields"], "reaction": "yes"})
    response = client.post(form["action"], data={**form["fields"], "reaction": "no",
                                                  "comment": "y" * 1200})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "the limit is 1,000" in html and "y" * 1200 in html
    assert store.feedback_for(store.get_session(w.sid)).reaction == "yes"


def test_line_breaks_count_once_toward_the_comment_limit(client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "connected"])
    form = feedback_form(w.html)
    comment = "\r\n".join(["x" * 15] * 60)  # 960 characters as the text box counts them
    response = client.post(form["action"], data={**form["fields"], "reaction": "partly",
                                                  "comment": comment})
    assert response.status_code == 303
    assert store.feedback_for(store.get_session(w.sid)).comment == comment.replace("\r\n", "\n")


def test_a_session_handed_to_support_is_closed_and_keeps_its_handoff(client, store):
    # Once the customer has written to support the guide has ended: an earlier step's form
    # (kept open in another tab) answers 409 and changes nothing.
    w = finish(client, "salesforce", ["disconnected", "connected", "connected"])
    client.post(f"/s/{w.sid}/support", data={**feedback_form(w.html)["fields"]})
    before = store.get_session(w.sid)
    page = client.get(f"/s/{w.sid}/4").get_data(as_text=True)
    assert "Change" not in page
    response = client.post(f"/s/{w.sid}/4", data={**feedback_form(w.html)["fields"],
                                                  "answer": "not-connected",
                                                  "revision": str(before.revision)})
    assert response.status_code == 409
    assert "This guide has ended" in response.get_data(as_text=True)
    after = store.get_session(w.sid)
    assert (after.revision, after.step, after.outcome) == (before.revision, before.step,
                                                          before.outcome)
    (handoff,) = store.handoffs_for(w.sid)
    assert handoff.reason == "customer_request"


def test_wrong_method_and_oversized_requests_get_clear_pages(client, store):
    w = Walker(client, "salesforce")
    wrong = client.post("/")
    assert wrong.status_code == 405 and "Autofy connection help" in wrong.get_data(as_text=True)
    assert client.get(f"/s/{w.sid}/feedback").headers["Location"] == f"/s/{w.sid}/1"
    chunked = client.post(f"/s/{w.sid}/0", data={"answer": "x"},
                          headers={"Transfer-Encoding": "chunked"})
    assert chunked.status_code == 411 and store.get_session(w.sid).revision == 1
    big = client.post(f"/s/{w.sid}/0", data={"answer": "x", "comment": "z" * 300_000})
    assert big.status_code == 413 and "too much text" in big.get_data(as_text=True)


def test_a_nul_character_is_refused_before_it_reaches_the_database(client, store):
    # PostgreSQL cannot store NUL in text: /s/%00, a login email or a comment holding one
    # answered 500 there. Refused up front, everywhere, and nothing is stored.
    w = finish(client, "salesforce", ["disconnected", "connected", "connected"])
    form = feedback_form(w.html)
    for data in ({"comment": "bad\x00byte"}, {"comment\x00": "x"}):
        response = client.post(form["action"], data={**form["fields"], "reaction": "no",
                                                      **data})
        assert response.status_code == 400
        assert "(a NUL), so nothing was changed" in response.get_data(as_text=True)
    assert store.feedback_for(store.get_session(w.sid)) is None
    for url in ("/s/%00", f"/s/{w.sid}/0?check=%00", "/console/sessions?flow=%00",
                "/console/login?next=/console/%00"):
        assert client.get(url).status_code == 400, url


def test_support_form_from_before_the_answers_changed_sends_nothing(client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "not-connected"])
    page = client.get(f"/s/{w.sid}/support").get_data(as_text=True)
    form = next(f for f in forms(page) if f["action"].endswith("support"))
    back = answer_form(client.get(f"/s/{w.sid}/4").get_data(as_text=True))
    client.post(back["action"], data={**back["fields"], "answer": "connected"})
    response = client.post(form["action"], data={**form["fields"], "message": "Help please"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Nothing was sent yet" in html
    # (The unresolved end made a handoff by itself; the stale form added nothing to it.)
    assert "Help please" in html and [h.message for h in store.handoffs_for(w.sid)] == [None]


def test_sending_to_support_twice_without_js_redirects_to_the_one_handoff(client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "not-connected"])
    page = client.get(f"/s/{w.sid}/support").get_data(as_text=True)
    form = next(f for f in forms(page) if f["action"].endswith("support"))
    first = client.post(form["action"], data=form["fields"])
    second = client.post(form["action"], data=form["fields"])
    assert first.status_code == second.status_code == 303
    assert len(store.handoffs_for(w.sid)) == 1


def test_a_failed_csrf_check_on_a_session_whose_step_left_the_flow_is_not_a_500(client, store):
    w = Walker(client, "salesforce")
    store.record_answer(store.get_session(w.sid), "v1", 0, "disconnect", "disconnected",
                        "removed-step", {}, None)
    response = client.post(f"/s/{w.sid}/1", data={"csrf_token": "forged", "answer": "x"})
    assert response.status_code == 400 and "nothing was changed" in response.get_data(
        as_text=True)


def test_a_second_tab_adds_its_message_to_the_handoff(client, store):
    w = finish(client, "salesforce", ["disconnected", "connected", "not-connected"])
    page = client.get(f"/s/{w.sid}/support").get_data(as_text=True)
    form = next(f for f in forms(page) if f["action"].endswith("support"))
    client.post(form["action"], data={**form["fields"], "message": "First message"})
    client.post(form["action"], data={**form["fields"], "contact": "me@example.com",
                                      "message": "Second message"})
    client.post(form["action"], data={**form["fields"], "message": "Second message"})
    [handoff] = store.handoffs_for(w.sid)
    assert handoff.contact == "me@example.com"
    assert handoff.message == "First message\n\nSecond message"



def test_messages_added_to_one_handoff_stop_at_three_times_the_limit(make_app, store):
    # Each distinct message at the same point was appended, and each addition queued a webhook
    # delivery carrying the whole message so far: a script posting 4,000 characters a time
    # grew the database quadratically (30 posts: 120,000 characters, 1.9 MB of deliveries).
    client = make_app(HANDOFF_MESSAGE_MAX_CHARS=100).test_client()
    w = finish(client, "salesforce", ["disconnected", "connected", "not-connected"])
    page = client.get(f"/s/{w.sid}/support").get_data(as_text=True)
    form = next(f for f in forms(page) if f["action"].endswith("support"))
    for n in range(3):
        sent = client.post(form["action"], data={**form["fields"], "message": f"{n}" * 98})
        assert sent.status_code == 303
    [handoff] = store.handoffs_for(w.sid)
    refused = client.post(form["action"], data={**form["fields"], "message": "3" * 98})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "3" * 98 in html  # what was typed is kept
    assert "Support has 298 characters from this point already; at most 300" in html
    assert store.handoffs_for(w.sid)[0].message == handoff.message  # nothing added
    again = client.post(form["action"], data={**form["fields"], "message": "2" * 98})
    assert again.status_code == 303  # a double submit of what support has is still fine

TWO_SALESFORCE = """connections:
  - id: sf-us
    label: US org
    system: salesforce
    endpoints: {login: "http://127.0.0.1:9/a", trust: "http://127.0.0.1:9/b"}
    secrets: {client_id: X, client_secret: Y, refresh_token: Z}
  - id: sf-eu
    label: EU org
    system: salesforce
    endpoints: {login: "http://127.0.0.1:9/a", trust: "http://127.0.0.1:9/b"}
    secrets: {client_id: X, client_secret: Y, refresh_token: Z}
  - id: books
    label: Books
    system: quickbooks_desktop
    endpoints: {agent_status: "http://127.0.0.1:9/{agent_id}"}
    agent_id: a1
    secrets: {api_key: K}
"""


def test_in_demo_mode_the_customer_chooses_a_demo_connection_or_goes_without(make_app,
                                                                             tmp_path, store):
    (tmp_path / "two.yaml").write_text("demo: true\n" + TWO_SALESFORCE)
    client = make_app(CONNECTIONS_PATH=str(tmp_path / "two.yaml")).test_client()
    page = client.get("/flows/salesforce")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and heading(html) == "Reset your Salesforce connection"
    assert "Demo mode" in html and "US org (demo)" in html and "EU org (demo)" in html
    assert "Books" not in html  # another system's connection is not offered
    assert "Without a live check" in html
    form = start_form(html, "salesforce")

    def start(connection):
        response = client.post(form["action"], data={**form["fields"],
                                                     "connection": connection})
        assert response.status_code == 303
        return store.get_session(response.headers["Location"].split("/")[2])
    assert start("sf-eu").connection_id == "sf-eu"
    assert start("").connection_id is None
    # ?connection= preselects, as a link from the demo's own pages may.
    preselected = client.get("/flows/salesforce?connection=sf-eu").get_data(as_text=True)
    assert re.search(r'value="sf-eu" checked', preselected)
    for wanted, expected in (("books", "of another system"), ("sf-xx", "that we don't know")):
        refused = client.post(form["action"], data={**form["fields"], "connection": wanted})
        assert refused.status_code == 400
        assert expected in htmllib.unescape(refused.get_data(as_text=True))
        assert client.get(f"/flows/salesforce?connection={wanted}").status_code == 400
    odd = client.get("/flows/salesforce?connection=%00%3Cb%3Ex")
    body = odd.get_data(as_text=True)
    assert odd.status_code == 400 and "\x00" not in body and "<b>x" not in body
    # The only connection of a system is preselected.
    only = client.get("/flows/quickbooks-desktop").get_data(as_text=True)
    assert re.search(r'value="books" checked', only)
    assert count_sessions(store) == 2  # the two Starts; no GET made one
