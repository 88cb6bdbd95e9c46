"""The handoff queue: open / taken / closed handoffs, one handoff with everything it carries,
the changes staff make to it, and an agent handing a session on.

- ``GET /console/handoffs?status=open&page=1`` (``console.handoffs``): the queue, newest
  first, 25 a page, with a tab and count per status;
- ``GET /console/handoffs/<id>`` (``console.handoff``): everything the handoff carries, and
  its webhook deliveries with every attempt;
- ``POST /console/handoffs/<id>/status`` (``console.handoff_status``): ``action`` (take,
  take_over, release, close, reopen) with ``seen_status`` and ``seen_taken_by``, the state
  the page showed;
- ``POST /console/handoffs/<id>/deliveries/<d>/retry`` (``console.delivery_retry``): send a
  failed delivery again now;
- ``GET/POST /console/sessions/<sid>/handoff`` (``console.handoff_create``): an agent hands
  the session on, with a ``comment``.

Every change answers 303 back to the handoff's page. A change that lost a race (someone else
acted first) changes nothing and answers 409 with the page as it is now, saying who has it.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from ...conversation import REACTIONS, REASONS
from ...store.handoffs import ACTIONS, STATUSES, HandoffView, QueueConflict
from ...store.webhooks import WebhookDeliveries
from .. import services
from ..handoff import queue
from . import bp, staff_id
from .diagram import flow_svg

PER_PAGE = 25
STATUS_LABELS = {"open": "Open", "taken": "Taken", "closed": "Closed"}
ACTION_LABELS = {"take": "Take", "take_over": "Take over", "release": "Release",
                 "close": "Close", "reopen": "Reopen"}
DONE = {"take": "You took {ref}.", "take_over": "You took {ref} over.",
        "release": "You released {ref}: it is open for anyone again.",
        "close": "You closed {ref}.", "reopen": "You reopened {ref}."}
DELIVERY_STATES = {"pending": "Waiting to be sent", "sending": "Being sent",
                   "delivered": "Delivered", "failed": "Failed"}


def spent(ms: int | None) -> str:
    """Time spent in ms as "under 1 s", "42 s", "3 min 5 s", "2 h 4 min"; "–" if unknown."""
    if ms is None:
        return "–"
    s = round(ms / 1000)
    if s < 1:
        return "under 1 s"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def shown_url(url: str) -> str:
    """A webhook URL without its query, fragment or user info (they may hold a token)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}{'?…' if parts.query else ''}"


def session_url(sid: str) -> str:
    """The console's view of a session (``console.session``, or its plain path until that
    view exists)."""
    if "console.session" in current_app.view_functions:
        return url_for("console.session", sid=sid)
    return f"/console/sessions/{sid}"


def _timestamp(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "–"


def _helpers() -> dict:
    return {"spent": spent, "shown_url": shown_url, "session_url": session_url,
            "reasons": REASONS, "reactions": REACTIONS, "status_labels": STATUS_LABELS,
            "action_labels": ACTION_LABELS, "delivery_states": DELIVERY_STATES,
            "stamp": _timestamp}


@bp.get("/handoffs")
def handoffs():
    """The queue: the handoffs with one status (``?status=``, default open), newest first,
    :data:`PER_PAGE` a page (``?page=``), with the count of each status."""
    status = request.args.get("status", "open")
    notice, code = None, 200
    if status not in STATUSES:
        notice, code = ("There is no such list of handoffs; here are the open ones.", 400)
        status = "open"
    counts = queue().counts()
    pages = max(1, math.ceil(counts[status] / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = queue().page(status, page, PER_PAGE)
    compiled = services().compiled
    return render_template("console/handoffs.html", status=status, counts=counts, rows=rows,
                           page=page, pages=pages, notice=notice, statuses=STATUSES,
                           flows={k: c.flow for k, c in compiled.items()},
                           **_helpers()), code


def _render(view: HandoffView, status: int = 200, notice: str | None = None):
    compiled = services().library.get(view.flow_id, view.flow_version) \
        or services().library.get(view.flow_id)
    flow = compiled.flow if compiled else None
    diagram = None
    path = [line.get("step") for line in view.transcript]
    if flow is not None and all(s in flow.steps for s in [*path, view.step]):
        diagram = flow_svg(flow, path=path, current=view.step,
                           title=f"{flow.title}: the path of {view.reference}",
                           description="The steps this session went through are highlighted; "
                                       "the table of the path above lists them in order.")
    deliveries = WebhookDeliveries(services().store.engine).for_handoff(view.id)
    return render_template("console/handoff.html", h=view, flow=flow, diagram=diagram,
                           deliveries=deliveries, notice=notice, me=staff_id(),
                           webhook=current_app.extensions["webhooks"].enabled,
                           **_helpers()), status


@bp.get("/handoffs/<int:handoff_id>")
def handoff(handoff_id: int):
    """One handoff: everything it carries, its state and actions, its webhook deliveries."""
    view = queue().get(handoff_id)
    if view is None:
        abort(404)
    return _render(view)


def _conflict(current: HandoffView, me: int) -> str:
    """Why a change was refused, from the handoff as it is now."""
    if current.status == "taken" and current.taken_by == me:
        return "You have this handoff already, so nothing was changed."
    if current.status == "taken":
        return (f"{current.taken_by_email or 'Someone else'} took this handoff at "
                f"{_timestamp(current.taken_at)} UTC, so nothing was changed. To work on it "
                "yourself, use Take over.")
    if current.status == "closed":
        return (f"This handoff was closed at {_timestamp(current.closed_at)} UTC"
                + (f" by {current.taken_by_email}" if current.taken_by_email else "")
                + ", so nothing was changed.")
    return ("This handoff is open again (released or reopened since your page was shown), "
            "so nothing was changed.")


@bp.post("/handoffs/<int:handoff_id>/status")
def handoff_status(handoff_id: int):
    """Take, take over, release, close or reopen a handoff, as its page showed it."""
    view = queue().get(handoff_id)
    if view is None:
        abort(404)
    action = request.form.get("action", "")
    seen_status = request.form.get("seen_status", "")
    seen_by = request.form.get("seen_taken_by", "")
    if action not in ACTIONS or seen_status not in STATUSES or not (
            seen_by == "" or seen_by.isdigit() and len(seen_by) < 10):
        return _render(view, 400, "That form was incomplete, so nothing was changed. Please "
                                  "use the buttons on this page.")
    try:
        changed = queue().change(handoff_id, action, staff_id(), seen_status,
                                 int(seen_by) if seen_by else None)
    except QueueConflict as conflict:
        current = conflict.current or view
        return _render(current, 409, _conflict(current, staff_id()))
    flash(DONE[action].format(ref=changed.reference))
    return redirect(url_for("console.handoff", handoff_id=handoff_id), 303)


@bp.post("/handoffs/<int:handoff_id>/deliveries/<int:delivery_id>/retry")
def delivery_retry(handoff_id: int, delivery_id: int):
    """Send a failed (or waiting) webhook delivery again now."""
    view = queue().get(handoff_id)
    deliveries = WebhookDeliveries(services().store.engine)
    delivery = deliveries.get(delivery_id)
    if view is None or delivery is None or delivery.handoff_id != handoff_id:
        abort(404)
    if not deliveries.retry_now(delivery_id):
        return _render(view, 409, f"Delivery {delivery_id} is being sent or was delivered "
                                  "already, so nothing was changed.")
    current_app.extensions["webhooks"].wake()
    flash(f"Delivery {delivery_id} is being sent again now.")
    return redirect(url_for("console.handoff", handoff_id=handoff_id) + "#deliveries", 303)


@bp.route("/sessions/<sid>/handoff", methods=["GET", "POST"])
def handoff_create(sid: str):
    """An agent hands a session on: a handoff (reason ``agent``) at the session's current
    point, with the agent's ``comment``; if the session was handed off at that point already,
    the comment is added to that handoff."""
    store = services().store
    row = store.get_session(sid)
    if row is None:
        abort(404)
    compiled = services().compiled_for(row)
    flow = compiled.flow if compiled else None
    existing = queue().for_session(sid)
    limit = current_app.config["HANDOFF_MESSAGE_MAX_CHARS"]
    comment = request.form.get("comment", "").replace("\r\n", "\n").strip()

    def page(status: int = 200, error: str | None = None):
        return render_template("console/handoff_new.html", session=row, flow=flow,
                               existing=existing, comment=comment, error=error, limit=limit,
                               **_helpers()), status

    if flow is None or row.step not in flow.steps:
        return page(409, "This session's guide has changed since, so it cannot be handed "
                         "off from here.")
    if request.method == "GET":
        return page()
    if len(comment) > limit:
        return page(400, f"Your comment has {len(comment):,} characters; the limit is "
                         f"{limit:,}. Please shorten it.")
    made, new = services().conversations.handoffs.record(
        row, compiled, "agent", message=comment or None, created_by=staff_id())
    ref = f"H-{made.id:05d}"
    flash(f"Handed off as {ref}." if new else
          f"This session was handed off at this point already ({ref})"
          + ("; your comment was added to it." if comment else "."))
    return redirect(url_for("console.handoff", handoff_id=made.id), 303)
