"""Making handoffs, from wherever they come, and announcing them to the webhook. No Flask.

Sources (``Handoff.reason``):

- ``unresolved_end``: the session reached an end whose outcome is unresolved or escalated
  (:meth:`Handoffs.after_answer`, called after every applied answer);
- ``negative_feedback``: "Did this answer your question?" got *No* or *Partly*
  (:meth:`Handoffs.after_feedback`);
- ``agent``: a staff member handed the session on from the console;
- ``customer_request``: the customer sent the contact-support form where none of the above
  had made one.

One handoff per session revision: whatever comes later at the same revision (the customer's
email address and message, feedback) is added to it and announced as ``handoff.updated``.

Each handoff carries a snapshot of the path (:meth:`Handoffs.snapshot`): every step and answer
with the time spent on it, and each live check's outcome, diagnosis and evidence (already
scrubbed of secrets when the check stored it). The feedback given at the same revision is
joined to it. The webhook body (:func:`payload`) is built from the same pieces and never holds
the session's id (a capability to the customer's session) nor any secret: the session is named
by its share code, and the handoff by its console address, which needs a staff login.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection

from ..engine import CompiledFlow
from ..flow import Flow
from ..probes.diagnosis import cause_title
from ..store import FlowSession, Handoff
from ..store.handoffs import HandoffQueue, HandoffView
from ..store.webhooks import WebhookDeliveries, new_delivery
from .transcript import labelled, with_checks

log = logging.getLogger(__name__)

REASONS = {"unresolved_end": "Unresolved end", "negative_feedback": "Negative feedback",
           "customer_request": "Customer asked", "agent": "Handed on by staff"}


def _cause(cause_id: str | None) -> dict | None:
    if not cause_id:
        return None
    try:
        title = cause_title(cause_id)
    except KeyError:  # a cause the rules no longer know
        title = cause_id
    return {"id": cause_id, "title": title}


def payload(event: str, handoff: HandoffView, flow: Flow | None, console_url: str) -> dict:
    """The webhook body for ``event`` about ``handoff`` (a JSON-safe dict): ``event``,
    ``handoff`` (id, reference, reason, status, created_at, created_by, taken_by, contact,
    message, console_url), ``session`` (share code, ``customer``: the customer reference of
    the launch token that started it, or None, and ``language``: the language the customer
    read it in, ``en``, ``es``, …), ``flow`` (id, title, version),
    ``step`` (where the handoff was made: id, title, outcome), ``cause`` (the diagnosed cause:
    id, title, or None), ``path`` (see :meth:`Handoffs.snapshot`) and ``feedback`` (reaction,
    comment, or None)."""
    step = flow.steps.get(handoff.step) if flow else None

    def iso(moment):
        return moment.isoformat() if moment else None
    return {
        "event": event,
        "handoff": {"id": handoff.id, "reference": handoff.reference, "reason": handoff.reason,
                    "status": handoff.status, "created_at": iso(handoff.created_at),
                    "created_by": handoff.created_by_email,
                    "taken_by": handoff.taken_by_email, "contact": handoff.contact,
                    "message": handoff.message, "console_url": console_url},
        "session": {"code": handoff.code, "customer": handoff.customer_ref,
                    "language": handoff.language or "en"},
        "flow": {"id": handoff.flow_id, "title": flow.title if flow else None,
                 "version": handoff.flow_version},
        "step": {"id": handoff.step, "title": step.title if step else None,
                 "outcome": step.outcome if step else None},
        "cause": _cause(handoff.cause),
        "path": handoff.transcript,
        "feedback": ({"reaction": handoff.reaction, "comment": handoff.comment}
                     if handoff.reaction else None),
    }


def customer_has_written(handoff: Handoff, sent: Collection[int] = ()) -> bool:
    """True once the customer has sent the contact form for ``handoff`` (or it holds their
    address or message): the support page then shows the reference instead of the form.
    ``sent``: ids of handoffs this visitor sent the form for (the wizard keeps them in its
    cookie)."""
    return (handoff.reason == "customer_request" or bool(handoff.contact)
            or (bool(handoff.message) and handoff.reason != "agent")
            or handoff.id in sent)


class Handoffs:
    """Handoffs of one database. ``library`` finds a handoff's flow version, ``staff`` the
    accounts, ``sender`` the webhook sender (:class:`assistant.webhooks.WebhookSender`) and
    ``console_url(handoff_id)`` the handoff's console address for webhook bodies."""

    def __init__(self, store, library, probes, staff, sender, console_url: Callable[[int], str]):
        self.store = store
        self.library = library
        self.probes = probes
        self.staff = staff
        self.sender = sender
        self.console_url = console_url
        self.queue = HandoffQueue(store.engine)

    def snapshot(self, row: FlowSession, compiled: CompiledFlow) -> list[dict]:
        """The session's current path as a handoff keeps it: one dict per answer with
        ``position``, ``step``, ``step_title``, ``answer``, ``answer_label``, ``at`` (ISO 8601,
        UTC), ``spent_ms`` (time spent on the step before answering, ms; None if unknown) and,
        for a live check, ``check`` (``outcome``, ``cause``, ``title``, ``explanation``,
        ``evidence``, ``latency_ms``, ``connection_id``, ``probe``, ``at``)."""
        lines = with_checks(labelled(compiled, self.store.transcript(row.id)),
                            self.probes.checks)
        spent = self.queue.time_spent(row.id)
        for line in lines:
            line["spent_ms"] = spent.get(line["position"])
        return lines

    def _body(self, event: str, handoff: HandoffView) -> str:
        compiled = self.library.get(handoff.flow_id, handoff.flow_version) \
            or self.library.get(handoff.flow_id)
        return json.dumps(payload(event, handoff, compiled.flow if compiled else None,
                                  self.console_url(handoff.id)),
                          ensure_ascii=False, separators=(",", ":"), default=str)

    def record(self, row: FlowSession, compiled: CompiledFlow, reason: str, *,
               contact: str | None = None, message: str | None = None,
               created_by: int | None = None) -> tuple[Handoff, bool]:
        """The handoff at the session's current revision, made now with a :meth:`snapshot`
        and ``reason`` if there is none yet (with its ``handoff.created`` delivery, in the
        same transaction); an existing one gets ``contact`` and ``message`` added instead.
        Returns ``(handoff, made_now)``.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database failed (nothing was stored).
        """
        existing = self.store.handoff_at(row)
        if existing is not None:
            return self.add_to(existing, contact, message), False
        feedback = self.store.feedback_for(row)
        creator = self.staff.get(created_by) if created_by is not None else None
        sender = self.sender
        made: list[int] = []

        def announce(new: Handoff):
            made.append(new.id)
            if not sender.enabled:
                return None
            view = HandoffView(
                id=new.id, session_id=new.session_id, revision=new.revision,
                flow_id=new.flow_id, flow_version=new.flow_version, step=new.step,
                reason=new.reason, status=new.status, contact=new.contact,
                message=new.message, transcript=new.transcript, created_at=new.created_at,
                created_by=created_by, created_by_email=creator.email if creator else None,
                taken_by=None, taken_by_email=None, taken_at=None, closed_at=None,
                code=row.code, reaction=feedback.reaction if feedback else None,
                comment=feedback.comment if feedback else None)
            return new_delivery("handoff.created", new.id, sender.url,
                                self._body("handoff.created", view))

        handoff = self.store.create_handoff(row, compiled.flow.version, reason,
                                            self.snapshot(row, compiled), contact, message,
                                            created_by=created_by, also=announce)
        if not made:  # another request made it first, just now
            return self.add_to(handoff, contact, message), False
        sender.wake()
        return handoff, True

    def add_to(self, handoff: Handoff, contact: str | None, message: str | None) -> Handoff:
        """Add a contact address (if it had none) and a message to an existing handoff; if
        that changed it, announce ``handoff.updated``. Returns the handoff as it is now."""
        if not contact and not message:
            return handoff
        row, changed = self.store.add_to_handoff(handoff, contact, message)
        if changed:  # the database says this request changed it: identical submits announce once
            self.announce_update(row.id)
        return row

    def announce_update(self, handoff_id: int) -> None:
        """Enqueue a ``handoff.updated`` delivery with the handoff as it is now (no-op without
        a webhook)."""
        if not self.sender.enabled:
            return
        view = self.queue.get(handoff_id)
        if view is None:  # pragma: no cover - handoffs are never deleted
            return
        WebhookDeliveries(self.store.engine).enqueue(
            "handoff.updated", handoff_id, self.sender.url, self._body("handoff.updated", view))
        self.sender.wake()

    def after_answer(self, row: FlowSession, compiled: CompiledFlow) -> None:
        """After an answer was applied: an unresolved or escalated end hands the session off.
        Never raises (the customer's answer is applied either way; a failure is logged)."""
        if row.status != "ended" or row.outcome not in ("unresolved", "escalated"):
            return
        try:
            self.record(row, compiled, "unresolved_end")
        except Exception:
            log.exception("session %s: the handoff of an unresolved end was not recorded",
                          row.code)

    def after_feedback(self, row: FlowSession, compiled: CompiledFlow, reaction: str,
                       changed: bool = True) -> None:
        """After feedback was saved: *No* or *Partly* hands the session off; feedback that
        ``changed`` on a session already handed off at this point is announced as an update.
        Never raises (the feedback is saved either way; a failure is logged)."""
        try:
            existing = self.store.handoff_at(row)
            if existing is not None:
                if changed:
                    self.announce_update(existing.id)
            elif reaction in ("no", "partly"):
                self.record(row, compiled, "negative_feedback")
        except Exception:
            log.exception("session %s: the handoff of negative feedback was not recorded",
                          row.code)
