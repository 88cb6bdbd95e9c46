"""Free text in the application layer, without Flask: starting from a customer's words (at the
routed step, the words and the router's note kept; a chosen guide after a question; nothing
for text no guide fits) and typed answers (:meth:`Conversations.say`)."""

from __future__ import annotations

import pytest
from test_conversation import conv, past_check  # noqa: F401 - the fixture and a helper

from assistant.conversation import errors


def test_words_start_at_the_routed_step_and_are_kept(conv):  # noqa: F811
    route, started = conv.start_from_text("  Error 0x80040408 from QuickBooks  ")
    row = started.session
    assert (route.flow, row.flow_id, row.step) == ("quickbooks-desktop", "quickbooks-desktop",
                                                   route.step)
    assert row.step != conv.flow("quickbooks-desktop").start().step
    assert row.opened_with == "Error 0x80040408 from QuickBooks"
    assert row.route_note == route.message and route.cause


def test_no_guide_fits_starts_nothing_and_a_chosen_guide_starts_at_its_start(conv):  # noqa: F811
    route, started = conv.start_from_text("how do I change my billing plan")
    assert started is None and route.flow is None and route.question is None
    route, started = conv.start_from_text("quickbooks")
    assert started is None and route.question
    _, started = conv.start_from_text("quickbooks", chosen="quickbooks-online")
    assert started.session.step == conv.flow("quickbooks-online").start().step
    assert started.session.opened_with == "quickbooks"
    with pytest.raises(errors.FlowNotFound):
        conv.start_from_text("quickbooks", chosen="xero")


def test_typed_answers_apply_or_ask(conv):  # noqa: F811
    sid = conv.start("salesforce").session.id
    past_check(conv, sid)
    view = conv.view(sid)
    with pytest.raises(errors.Invalid):
        conv.say(sid, view.n, "  ", view.session.revision)
    with pytest.raises(errors.Stale):
        conv.say(sid, view.n, "done", view.session.revision + 1)
    unsure = conv.say(sid, view.n, "no I can't find it", view.session.revision)
    assert not unsure.applied and unsure.candidates == ("disconnected",)
    said = conv.say(sid, view.n, "done", view.session.revision)
    assert said.applied and said.session.step == "connect"
    assert conv.store.transcript(sid)[-1].said == "done"
