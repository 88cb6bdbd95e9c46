"""The conversation: one session walked through a flow, for every channel (the HTML wizard,
the console's guided mode, the JSON API, a chat). No Flask: views parse a request, call one
method of :class:`Conversations` and render what it returns, or map the
:mod:`~.errors` it raises to a status.

- :meth:`~Conversations.start` a session (a flow, a verified launch token binding its
  connection and customer reference, or a connection a trusted caller chose);
- :meth:`~Conversations.view`: where it is, as a :class:`StepView` (changes no session);
- :meth:`~Conversations.answer` a step, at the revision the request was made at;
- :meth:`~Conversations.poll` a probe step's check, applying a finished check's outcome once;
- :meth:`~Conversations.give_feedback`, :meth:`~Conversations.hand_off`;
- :meth:`~Conversations.route` free text to a guide, :meth:`~Conversations.match_answer` free
  text to a step's answer (both :mod:`assistant.routing`).

Every change carries the revision it was made at: a request at another revision raises
:class:`~.errors.Stale` (a double click, a second tab, Back) and is never applied twice; a
finished session raises :class:`~.errors.Closed`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection

from ..engine import CompiledFlow, InvalidAnswer, Position
from ..flow import Flow, Step
from ..launch import Launch
from ..store import CheckRecord, FlowSession, StaleRevision
from ..store.repository import as_utc
from . import errors
from .endings import Endings
from .handoffs import Handoffs, customer_has_written
from .launching import launch_connection, verify_launch
from .results import Polled, Started, StepView
from .text import _l
from .transcript import labelled
from .typed import TypedText

log = logging.getLogger(__name__)

TRANSCRIPT_TAIL = 10
"""Answers shown under a step unless every one is asked for."""

TEXT_MAX = 2000
"""Characters of free text kept with a session or an answer (a pasted error, a sentence)."""



class Conversations(TypedText, Endings):
    """The application layer over the flows, the store and the probe runner. Safe to share
    between threads.

    ``flows``/``compiled``: the flows being served (by id) and their machines; ``library``: every
    version a session may be pinned to (:class:`assistant.flow_library.FlowLibrary`);
    ``store``, ``probes`` (:class:`~assistant.probes.runner.ProbeRunner`), ``connections``,
    ``staff``; ``handoffs`` (:class:`~.handoffs.Handoffs`); ``launch_secret``: the secrets that
    sign launch tokens (None: no token can be verified); ``comment_max``/``message_max``:
    characters a feedback comment and a message to support may have.
    """

    def __init__(self, *, flows: dict[str, Flow], compiled: dict[str, CompiledFlow], library,
                 store, probes, connections, staff, handoffs: Handoffs, launch_secret=None,
                 comment_max: int = 1000, message_max: int = 4000):
        self.flows = flows
        self.compiled = compiled
        self.library = library
        self.store = store
        self.probes = probes
        self.connections = connections
        self.staff = staff
        self.handoffs = handoffs
        self.launch_secret = launch_secret
        self.comment_max = comment_max
        self.message_max = message_max
        self._routers: dict = {}   # language → Router, each built on first use
        self._router_lock = threading.Lock()

    def serve(self, flows: dict[str, Flow], compiled: dict[str, CompiledFlow]) -> None:
        """Serve these flows to new sessions from now on (the preview, after each good save);
        sessions already started stay on their pinned versions."""
        self.flows, self.compiled = flows, compiled
        self._routers = {}

    # -- finding things ------------------------------------------------------------------------

    def flow(self, flow_id: str) -> CompiledFlow:
        """The served flow ``flow_id``. Raises :class:`~.errors.FlowNotFound`."""
        compiled = self.compiled.get(flow_id)
        if compiled is None:
            raise errors.FlowNotFound()
        return compiled

    def load(self, sid: str) -> tuple[FlowSession, CompiledFlow]:
        """The session and the version of its flow it is pinned to.

        Raises:
            SessionNotFound: no session has this id.
            FlowChanged: no version of its flow that has its step can be found.
        """
        row = self.store.get_session(sid)
        if row is None:
            raise errors.SessionNotFound()
        compiled = self.library.for_session(row.flow_id, row.flow_version, row.step)
        if compiled is None:
            raise errors.FlowChanged()
        return row, compiled

    def closed(self, row: FlowSession, sent: Collection[int] = ()) -> bool:
        """True for a finished session: ended, and feedback given or handed to a person (the
        customer wrote to support, or staff handed it on). Its answers can no longer change.
        ``sent``: handoff ids this visitor sent the contact form for."""
        if row.status != "ended":
            return False
        return self._closed(row, sent, self.store.feedback_for(row))

    def _closed(self, row: FlowSession, sent: Collection[int], feedback) -> bool:
        """:meth:`closed` for an ended session whose ``feedback`` (or None) was read."""
        if feedback is not None:
            return True
        handoff = self.store.handoff_at(row)
        return handoff is not None and (handoff.reason == "agent"
                                        or customer_has_written(handoff, sent))

    # -- starting ------------------------------------------------------------------------------

    def verify_launch(self, token: str | None, flow: Flow | None) -> Launch | None:
        """See :func:`.launching.verify_launch` (raises ``LaunchRefused``)."""
        return verify_launch(token, flow, secrets=self.launch_secret, store=self.store)

    def launch_connection(self, launch: Launch | None, flow: Flow):
        """See :func:`.launching.launch_connection`."""
        return launch_connection(launch, flow, self.connections)

    def start(self, flow_id: str, *, launch: Launch | None = None,
              connection_id: str | None = None, guided_by: int | None = None,
              customer_ref: str | None = None, step: str | None = None,
              opened_with: str | None = None, route_note: str | None = None,
              language: str | None = None) -> Started:
        """Start a session of the served flow ``flow_id`` at its start (or at ``step``, where
        free text was routed).

        ``launch``: a token from :meth:`verify_launch`: the session is bound to its connection
        (if the flow is of its system) and keeps its customer reference; a token that started
        a session already gives that session back (``resumed``). Otherwise
        ``connection_id`` is a connection the caller may bind (the demo chooser, an agent in
        guided mode; never a visitor's word) and ``customer_ref`` a reference to keep.
        ``opened_with``/``route_note``: the free text it was routed from (cut to
        :data:`TEXT_MAX`) and what the router said about it, kept with the session.
        ``language``: the language the customer reads it in (``"es"``; None: English).

        Raises:
            FlowNotFound: no such flow is served (or ``step`` is not one of its steps).
        """
        compiled = self.flow(flow_id)
        flow = compiled.flow
        if step is not None and step not in flow.steps:
            raise errors.FlowNotFound(_l("That guide has no such step."))
        if launch is not None:
            earlier = self.store.session_by_launch(launch.jti)
            if earlier is not None:  # the same token again (a double click, Back and Start)
                return Started(earlier, resumed=True)
            connection, _ = self.launch_connection(launch, flow)
            connection_id = connection.id if connection else None
            customer_ref = launch.customer
        row = self.store.create_session(flow.id, flow.version, step or compiled.start().step,
                                        connection_id=connection_id, guided_by=guided_by,
                                        customer_ref=customer_ref,
                                        launch_jti=launch.jti if launch else None,
                                        opened_with=opened_with[:TEXT_MAX] if opened_with
                                        else None, route_note=route_note, language=language)
        self._start_check(row, compiled)
        return Started(row)

    def check_again(self, sid: str) -> FlowSession:
        """A new session of the same guide, bound to the same connection and customer
        reference as ``sid`` (whose unguessable id proves they were given to the visitor).

        Raises:
            SessionNotFound: no such session, or its flow is no longer served.
        """
        old = self.store.get_session(sid)
        compiled = self.compiled.get(old.flow_id) if old is not None else None
        if compiled is None:
            raise errors.SessionNotFound()
        return self.start(old.flow_id, connection_id=old.connection_id,
                          customer_ref=old.customer_ref, language=old.language).session

    # -- where it is ---------------------------------------------------------------------------

    def position_at(self, row: FlowSession, compiled: CompiledFlow, n: int
                    ) -> tuple[int, Position, str | None]:
        """``(n, position, answer given there)`` for path index ``n`` (≤ current). An index
        whose step is no longer in the flow gives the current position instead."""
        current = (row.position, Position(row.step, dict(row.counters or {})), None)
        if n >= row.position:
            return current
        # The answer given at n, and the one before it (whose counters held at n): one query.
        lines = {line.position: line for line in self.store.transcript(row.id, upto=n + 1,
                                                                        last=2)}
        given, before = lines.get(n + 1), lines.get(n)
        if given is None or given.from_step not in compiled.flow.steps:
            return current
        return n, Position(given.from_step, dict(before.counters) if before else {}), \
            given.answer

    def _check(self, row: FlowSession, step: Step, waiting_for: int | None,
               start: bool = True) -> tuple[CheckRecord | None, CheckRecord | None]:
        """``(check, previous)`` at the session's current probe step: the check it waits for
        (started now if none is usable; with ``start`` False None instead, see
        :meth:`~assistant.probes.runner.ProbeRunner.result`) and, while a re-check after a
        fix waits for the TTL to pass, the last result (shown with its age)."""
        arrived = as_utc(row.updated_at)
        check = self.probes.result(row.connection_id, step.probe, waiting_for=waiting_for,
                                   arrived_at=arrived, recheck=step.recheck, start=start)
        previous = None
        if check is not None and step.recheck and check.started_at < arrived:
            previous = check if check.done else None
        return check, previous

    def view(self, session: FlowSession | str, n: int | None = None, *,
             waiting_for: int | None = None, everything: bool = False,
             sent: Collection[int] = (), start_check: bool = False) -> StepView:
        """The session (a row or its id) at path index ``n`` (None or past the position: its
        current step). Changes nothing: at the current probe step ``checking`` is the check
        under way or just done, or None when none is (a GET calls no upstream); with
        ``start_check`` (a POST) one is started then (at most one per connection and TTL).
        ``waiting_for``: the check id a page waits for; ``everything``: the whole transcript
        rather than its tail. Its reads share one connection
        (:meth:`~assistant.store.Store.unit`).

        Raises:
            SessionNotFound, FlowChanged: see :meth:`load`.
        """
        with self.store.unit():
            if isinstance(session, str):
                row, compiled = self.load(session)
            else:
                row = session
                compiled = self.library.for_session(row.flow_id, row.flow_version, row.step)
                if compiled is None:
                    raise errors.FlowChanged()
            view = self._read_view(row, compiled, row.position if n is None
                                   else min(n, row.position), everything, sent)
        return self._with_check(view, waiting_for, start_check)

    def _read_view(self, row: FlowSession, compiled: CompiledFlow, n: int, everything: bool,
                   sent: Collection[int]) -> StepView:
        """The session at path index ``n`` (≤ its position) as the store has it; no check
        is started (see :meth:`_with_check`)."""
        n, position, chosen = self.position_at(row, compiled, n)
        step = compiled.flow.steps[position.step]
        tail = self.store.transcript(row.id, upto=n,
                                     last=None if everything else TRANSCRIPT_TAIL)
        ended = row.status == "ended"
        feedback = self.store.feedback_for(row) if ended else None
        finding = None
        if tail and tail[-1].position == n and tail[-1].probe_check_id is not None:
            finding = self.probes.checks.get(tail[-1].probe_check_id)
        if step.is_probe and n < row.position:  # a past check: show what it found
            nxt = self.store.transcript(row.id, upto=n + 1, last=1)
            if nxt and nxt[0].probe_check_id is not None:
                finding = self.probes.checks.get(nxt[0].probe_check_id)
        return StepView(row, compiled, n, step, chosen, labelled(compiled, tail),
                        finding=finding,
                        feedback=feedback if step.is_end and n == row.position else None,
                        closed=ended and self._closed(row, sent, feedback))

    def _with_check(self, view: StepView, waiting_for: int | None, start: bool) -> StepView:
        """``view`` with, at the session's current probe step, the check it waits for
        (with ``start``, started now if none is usable). Outside any store unit: a check is
        written."""
        if view.step.is_probe and view.current:
            view.checking, view.previous = self._check(view.session, view.step, waiting_for,
                                                       start)
        return view

    def _start_check(self, row: FlowSession, compiled: CompiledFlow) -> None:
        """Start the check of the session's current step if it is a probe step (a POST that
        leads there: the page that follows, a GET, only shows it)."""
        step = compiled.flow.steps.get(row.step)
        if step is not None and step.is_probe and row.status != "ended":
            self._check(row, step, None)

    def transcript(self, sid: str) -> tuple[FlowSession, list[dict]]:
        """The session and its whole current path in words, each live check's line with what
        it found (see :func:`~.transcript.with_checks`). For staff: evidence included."""
        from .transcript import with_checks
        row, compiled = self.load(sid)
        return row, with_checks(labelled(compiled, self.store.transcript(row.id)),
                                self.probes.checks)

    # -- changing it ---------------------------------------------------------------------------

    def answer(self, sid: str, n: int, answer_id: str, revision: int | None,
               sent: Collection[int] = (), said: str | None = None, *,
               everything: bool = False) -> StepView:
        """Apply ``answer_id`` to the step at path index ``n``, seen at ``revision``; below
        the current position it changes an earlier answer (the later path is kept, marked
        superseded). Returns the step to show next, as :meth:`view` with ``everything``
        would (the same answer again changes nothing and shows the step after ``n``).
        ``said``: the free text the answer was chosen by (:meth:`say`), kept with it.

        One connection and one transaction (:meth:`~assistant.store.Store.unit`): read the
        session, guard the revision, write the answer and its event, read what the next
        step shows. An unresolved end's handoff and a probe step's check come after it.

        Raises:
            Incomplete: no revision. Closed: the session is finished. Stale: another
            revision, or ``n`` past the position or no longer in the flow.
            CheckedAutomatically: a probe step. NotAChoice: not an answer of the step.
        """
        with self.store.unit():
            row, compiled = self.load(sid)
            changed = self._apply(row, compiled, n, answer_id, revision, sent, said)
            if changed is not None:
                row = changed
            view = self._read_view(row, compiled,
                                   n + 1 if changed is None else changed.position,
                                   everything, sent)
        if changed is not None:
            self.handoffs.after_answer(row, compiled)
        return self._with_check(view, None, True)

    def advance(self, sid: str, n: int, answer_id: str, revision: int | None,
                sent: Collection[int] = (), said: str | None = None) -> tuple[FlowSession, int]:
        """:meth:`answer`, for a client that asks for the next step itself (a browser
        without JavaScript follows a 303 to it): the answer is applied the same way, but
        nothing the next step shows is read. Returns ``(session as it is now, path index of
        the step to show next)``; a probe step's check is started here (its page only shows
        it).

        One transaction: read the session, guard the revision, write the answer and its
        event. Raises what :meth:`answer` raises.
        """
        with self.store.unit():
            row, compiled = self.load(sid)
            changed = self._apply(row, compiled, n, answer_id, revision, sent, said)
        if changed is None:
            if n + 1 == row.position:
                self._start_check(row, compiled)
            return row, n + 1
        self.handoffs.after_answer(changed, compiled)
        self._start_check(changed, compiled)
        return changed, changed.position

    def _apply(self, row: FlowSession, compiled: CompiledFlow, n: int, answer_id: str,
               revision: int | None, sent: Collection[int], said: str | None
               ) -> FlowSession | None:
        """Record the answer (see :meth:`answer`, which raises what this raises): the
        session as it is now, or None for the same answer again (nothing changed)."""
        if revision is None:
            raise errors.Incomplete()
        if self.closed(row, sent):
            raise errors.Closed()
        if revision != row.revision or n > row.position or n < 0:
            raise errors.Stale()
        at, position, given = self.position_at(row, compiled, n)
        if at != n:  # that earlier step is no longer in the flow
            raise errors.Stale()
        if given == answer_id:
            return None  # the same answer again: nothing to change
        step = compiled.flow.steps[position.step]
        if step.is_probe:
            # Only the check itself decides a probe step: a posted "connected" is not believed.
            raise errors.CheckedAutomatically()
        try:
            move = compiled.answer(position, answer_id)
        except InvalidAnswer:
            raise errors.NotAChoice(errors.NotAChoice.message if step.is_end else
                                    errors.NotAChoice.message.then(
                                        _l("Please choose one of the answers below."))
                                    ) from None
        outcome = compiled.flow.steps[move.to.step].outcome
        try:
            return self.store.record_answer(row, compiled.flow.version, n, move.from_step,
                                            answer_id, move.to.step, move.to.counters,
                                            outcome, said=said[:TEXT_MAX] if said else None)
        except StaleRevision:
            raise errors.Stale() from None

    def poll(self, sid: str, n: int, revision: int | None, waiting_for: int | None = None
             ) -> Polled:
        """Ask the probe step at path index ``n`` (the current one, seen at ``revision``) for
        its check; a finished check's outcome is applied, exactly once: the session goes on to
        the step the flow names for it (its "What we found" explains it).

        Raises:
            Incomplete: no revision. Stale: the session moved on (another tab's poll applied
            the check, an answer elsewhere). NotAProbeStep: it is not at a probe step.
        """
        row, compiled = self.load(sid)
        if revision is None:
            raise errors.Incomplete()
        if revision != row.revision or n != row.position:
            raise errors.Stale()
        step = compiled.flow.steps[row.step]
        if not step.is_probe:
            raise errors.NotAProbeStep()
        check, previous = self._check(row, step, waiting_for)
        if previous is not None or not check.done or check.started_at < as_utc(
                row.updated_at) and step.recheck:
            return Polled(row, check, False, previous)
        position = Position(row.step, dict(row.counters or {}))
        move = compiled.probe_outcome(position, check.outcome or "unavailable")
        outcome = compiled.flow.steps[move.to.step].outcome
        try:
            row = self.store.record_answer(
                row, compiled.flow.version, row.position, move.from_step, move.answer,
                move.to.step, move.to.counters, outcome, probe_check_id=check.id,
                cause=check.cause if check.cause and "." in check.cause else None)
        except StaleRevision:  # another poll applied it first
            raise errors.Stale() from None
        self.handoffs.after_answer(row, compiled)
        return Polled(row, check, True)
