"""Analytics of one flow: what its sessions did, read from the store.

Every figure is about the sessions **in scope** (:class:`Scope`): the sessions of one flow
(``FlowSession.flow_id``), optionally of one version (``FlowSession.flow_version``, the version
of the flow file of the session's last answer, or of its start), whose start
(``FlowSession.created_at``) falls on a UTC date from ``first_day`` to ``last_day``, both
included (None: no bound), optionally read in one language (``FlowSession.language``, the
language the session is read in now; sessions from before languages, with none, count as
:data:`UNSTATED_LANGUAGE`). ``now`` and ``abandoned_after`` (the app's
``ABANDONED_AFTER_MINUTES``) decide which active sessions count as abandoned.

Sessions (:class:`FlowReport`):

- ``started``: the sessions in scope.
- ``finished``: those that reached an end step (``status`` ``ended``); ``resolved``,
  ``unresolved`` and ``escalated`` split them by the end's ``outcome``.
- ``abandoned``: those still ``active`` whose last answer (or start, without one:
  ``updated_at``) is older than ``now - abandoned_after``.
- ``active``: those still ``active`` and not abandoned. ``started = finished + abandoned +
  active``.

Steps (:class:`StepFigures`, per step id). A session's **current path** is its start step and
the steps its answers that were not replaced by going back (``Event.superseded`` false) came
from, plus its current step (``FlowSession.step``):

- ``reached``: sessions whose current path visited the step, the current step included; a
  session that visited it twice (a loop) counts once.
- ``answered``: sessions with at least one non-superseded answer given at the step.
- ``dropped``: abandoned sessions whose current step is the step (they stopped there);
  ``dropped_share`` is ``dropped / reached`` (None when nothing reached the step).
- ``median_ms``: the median of ``Event.spent_ms`` (time on the step before answering, in
  milliseconds) over the non-superseded answers given at the step (a loop's two answers both
  count); the mean of the two middle values for an even count; None without any.

Diagnosis, feedback, handoffs:

- ``causes``: the diagnosed cause each session ended up with (``FlowSession.cause``, as the
  store keeps it from the session's live checks), as ``(cause id, sessions)``, most sessions
  first (ties by id), at most :data:`TOP_CAUSES`; sessions without a cause are left out.
- ``reactions``: "Did this answer your question?" answers given in sessions in scope, counted
  per reaction (``yes``, ``partly``, ``no``; every stored answer counts: one per end page a
  session reached and answered).
- ``comments``: the :data:`LATEST_COMMENTS` latest of those answers with a non-empty comment,
  newest first (by when the feedback was given).
- ``handoff_sessions``: sessions in scope with at least one handoff (of any reason);
  ``handoff_share`` is that ÷ ``started`` (None when nothing started).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, desc, exists, false, func, literal, or_, select
from sqlalchemy.engine import Engine

from .analytics_figures import (
    REACTIONS,
    Comment,
    FlowReport,
    LanguageFigures,
    Scope,
    SessionRow,
    StepFigures,
    VersionInfo,
)
from .models import Event, Feedback, FlowSession, Handoff
from .repository import as_utc

TOP_CAUSES = 10
LATEST_COMMENTS = 10
UNSTATED_LANGUAGE = "en"  # sessions stored before languages were read in English
OUTCOMES = ("resolved", "unresolved", "escalated")

_s = FlowSession.__table__
_e = Event.__table__
_f = Feedback.__table__
_h = Handoff.__table__


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class Analytics:
    """Read-only analytics queries over the store's sessions, events, feedback and handoffs.

    Each method runs its statements on one connection, one after the other: an answer written
    meanwhile may show in a later statement's figures and not an earlier one's.

    How the queries stay fast (measured by ``bench/analytics_bench.py`` on 1,000,000 answers;
    migration 0005): answers, feedback and handoffs carry their session's flow, start and
    version (``flow_id``, ``session_started_at``, ``session_version``, copied and kept up to
    date by the store), so no figure joins the sessions. Each figure reads one covering index in
    its order: sessions by step, state and cause (``ix_sessions_flow_figures``); a flow's
    current-path answers by step and session (``ix_events_flow_step_session``: distinct
    sessions are counted without a sort) and by step and time spent
    (``ix_events_flow_step_spent``: a median is read at its offset, nothing is sorted);
    reactions (``ix_feedback_flow_reaction``), newest comments
    (``ix_feedback_flow_comments``), sessions with a handoff (``ix_handoffs_flow_session``)
    and versions (``ix_sessions_flow_version``). Rows written around the store, without the
    copied columns, are not counted.
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    def _where(self, scope: Scope) -> list:
        """Conditions on ``sessions`` for the sessions in scope."""
        where = [_s.c.flow_id == scope.flow_id]
        if scope.version is not None:
            where.append(_s.c.flow_version == scope.version)
        if scope.language is not None:
            where.append(_in_language(scope.language))
        where += _started(_s.c.created_at, scope)
        return where

    def _of_sessions_where(self, table, scope: Scope) -> list:
        """Conditions on ``events``, ``feedback`` or ``handoffs`` (``table``) for the rows of
        the sessions in scope, by the session's flow, start and version copied onto each
        row; a language filter looks the session up (a session may change language)."""
        where = [table.c.flow_id == scope.flow_id,
                 *_started(table.c.session_started_at, scope)]
        if scope.version is not None:
            where.append(table.c.session_version == scope.version)
        if scope.language is not None:
            where.append(table.c.session_id.in_(select(_s.c.id).where(
                _s.c.flow_id == scope.flow_id, _in_language(scope.language))))
        return where

    def report(self, scope: Scope, *, now: datetime, abandoned_after: timedelta,
               traffic_only: bool = False) -> FlowReport:
        """The figures of the sessions in ``scope`` at time ``now`` (aware, UTC); a session
        with no answer for longer than ``abandoned_after`` is abandoned.

        ``traffic_only`` (for the charts): only the session counts, the causes and each step's
        ``reached``, ``answered`` and ``dropped``; no medians (None), feedback or handoffs
        (zero), which saves most of the time.
        """
        where = self._where(scope)
        answers_where = [*self._of_sessions_where(_e, scope), _e.c.superseded == false()]
        abandoned = and_(_s.c.status == "active", _s.c.updated_at < now - abandoned_after)
        # A session's current step counts as reached unless its path answered that step too
        # (a loop): ended sessions sit at an end step, which is never answered.
        answered_here = exists().where(
            _e.c.flow_id == _s.c.flow_id, _e.c.from_step == _s.c.step,
            _e.c.session_id == _s.c.id, _e.c.superseded == false())
        at_step_only = case((_s.c.status == "ended", 1), (answered_here, 0), else_=1)
        by_state = (select(_s.c.step, _s.c.status, _s.c.outcome, _s.c.cause, func.count(),
                           func.sum(case((abandoned, 1), else_=0)), func.sum(at_step_only))
                    .where(*where)
                    .group_by(_s.c.step, _s.c.status, _s.c.outcome, _s.c.cause))
        # count(DISTINCT) alone: SQLite then counts in the index's order, without a sort
        per_step = (select(_e.c.from_step, func.count(func.distinct(_e.c.session_id)))
                    .where(*answers_where).group_by(_e.c.from_step))
        timed = (select(_e.c.from_step, func.count())
                 .where(*answers_where, _e.c.spent_ms.is_not(None)).group_by(_e.c.from_step))
        reactions = (select(_f.c.reaction, func.count())
                     .where(*self._of_sessions_where(_f, scope)).group_by(_f.c.reaction))
        comments = (select(_f.c.created_at, _f.c.reaction, _f.c.comment, _f.c.end_step,
                           _s.c.id, _s.c.code, _f.c.language)
                    .join_from(_f, _s, _f.c.session_id == _s.c.id)
                    .where(*self._of_sessions_where(_f, scope), _f.c.comment.is_not(None),
                           _f.c.comment != "")
                    .order_by(desc(_f.c.created_at), desc(_f.c.id)).limit(LATEST_COMMENTS))
        handoffs = (select(func.count(func.distinct(_h.c.session_id)))
                    .where(*self._of_sessions_where(_h, scope)))

        totals = dict.fromkeys(("started", "finished", "abandoned", "active", *OUTCOMES), 0)
        figures: dict[str, dict] = {}
        causes: dict[str, int] = {}
        with self.engine.connect() as conn:
            for step, status, outcome, cause, count, gone, only_here in conn.execute(by_state):
                totals["started"] += count
                if status == "ended":
                    totals["finished"] += count
                    if outcome in OUTCOMES:
                        totals[outcome] += count
                else:
                    totals["abandoned"] += gone
                    totals["active"] += count - gone
                    if gone:
                        _add(figures, step, "dropped", gone)
                _add(figures, step, "reached", only_here)
                if cause is not None:
                    causes[cause] = causes.get(cause, 0) + count
            for step, sessions in conn.execute(per_step):
                _add(figures, step, "reached", sessions)
                _add(figures, step, "answered", sessions)
            top_causes = sorted(causes.items(), key=lambda c: (-c[1], c[0]))[:TOP_CAUSES]
            steps = {step: StepFigures(**values) for step, values in figures.items()}
            if traffic_only:
                return FlowReport(**totals, steps=steps, causes=top_causes)
            for step, count in conn.execute(timed).all():
                figures.setdefault(step, {})["median_ms"] = self._median(
                    conn, answers_where, step, count)
            counted = dict.fromkeys(REACTIONS, 0)
            for reaction, count in conn.execute(reactions):
                counted[reaction] = count
            latest = [Comment(as_utc(r[0]), r[1], r[2], r[3], r[4], r[5], r[6])
                      for r in conn.execute(comments)]
            handed_off = conn.execute(handoffs).scalar_one()
        return FlowReport(
            **totals, steps={step: StepFigures(**values) for step, values in figures.items()},
            causes=top_causes, reactions=counted, comments=latest,
            handoff_sessions=handed_off)

    @staticmethod
    def _median(conn, answers_where: list, step: str, count: int) -> float:
        """The median ``spent_ms`` of the ``count`` timed answers at ``step``: the middle one
        (or two) read at their offset in the index ordered by time spent."""
        middle = (select(_e.c.spent_ms)
                  .where(*answers_where, _e.c.from_step == step, _e.c.spent_ms.is_not(None))
                  .order_by(_e.c.spent_ms).offset((count - 1) // 2).limit(2 - count % 2))
        values = conn.execute(middle).scalars().all()
        return sum(values) / len(values)

    def reactions(self, scope: Scope) -> dict[str, int]:
        """The "Did this answer your question?" replies in ``scope`` per reaction, as
        :meth:`report` counts them (without the rest of the report)."""
        query = (select(_f.c.reaction, func.count())
                 .where(*self._of_sessions_where(_f, scope)).group_by(_f.c.reaction))
        counted = dict.fromkeys(REACTIONS, 0)
        with self.engine.connect() as conn:
            counted.update(dict(conn.execute(query).all()))
        return counted

    def languages(self, scope: Scope) -> list[LanguageFigures]:
        """Per language the sessions of ``scope`` are read in (its own ``language`` is left
        aside), most sessions first: started, resolved, feedback replies. Each row's figures
        are those :meth:`report` gives with that language as the scope's."""
        scope = replace(scope, language=None)
        language = func.coalesce(_s.c.language, UNSTATED_LANGUAGE)
        sessions = (select(language, func.count(),
                           func.sum(case((_s.c.outcome == "resolved", 1), else_=0)))
                    .where(*self._where(scope)).group_by(language))
        replies = (select(language, func.count())
                   .join_from(_f, _s, _f.c.session_id == _s.c.id)
                   .where(*self._of_sessions_where(_f, scope)).group_by(language))
        with self.engine.connect() as conn:
            started = {lang: (n, resolved or 0) for lang, n, resolved in conn.execute(sessions)}
            feedback = dict(conn.execute(replies).all())
        rows = [LanguageFigures(lang, *started.get(lang, (0, 0)), feedback.get(lang, 0))
                for lang in set(started) | set(feedback)]
        return sorted(rows, key=lambda r: (-r.started, r.language))

    def versions(self, flow_id: str) -> list[VersionInfo]:
        """The versions of ``flow_id`` its sessions have, most recently started first."""
        last = func.max(_s.c.created_at)
        query = (select(_s.c.flow_version, func.count(), func.min(_s.c.created_at), last)
                 .where(_s.c.flow_id == flow_id).group_by(_s.c.flow_version)
                 .order_by(desc(last)))
        with self.engine.connect() as conn:
            return [VersionInfo(v, n, as_utc(_parse(first)), as_utc(_parse(latest)))
                    for v, n, first, latest in conn.execute(query)]

    def sessions(self, scope: Scope, *, now: datetime, abandoned_after: timedelta
                 ) -> Iterator[SessionRow]:
        """The sessions in ``scope``, oldest start first, streamed (for exports); ``state``
        as :meth:`report` defines it."""
        cutoff = now - abandoned_after
        state = case((_s.c.status == "ended", literal("ended")),
                     (_s.c.updated_at < cutoff, literal("abandoned")), else_=literal("active"))
        def latest_feedback(column):
            return (select(column).where(_f.c.session_id == _s.c.id)
                    .order_by(desc(_f.c.created_at), desc(_f.c.id)).limit(1).scalar_subquery())

        handoffs = (select(func.count()).where(_h.c.session_id == _s.c.id)
                    .scalar_subquery())
        query = (select(_s.c.code, _s.c.created_at, _s.c.updated_at, _s.c.ended_at,
                        _s.c.flow_version, state, _s.c.outcome, _s.c.step, _s.c.position,
                        _s.c.cause, latest_feedback(_f.c.reaction),
                        latest_feedback(_f.c.comment), handoffs, _s.c.guided_by)
                 .where(*self._where(scope)).order_by(_s.c.created_at, _s.c.id))
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=2000).execute(query)
            for r in result:
                yield SessionRow(r[0], as_utc(r[1]), as_utc(r[2]),
                                 as_utc(r[3]) if r[3] else None, r[4], r[5], r[6], r[7],
                                 r[8], r[9], r[10], r[11], r[12], r[13] is not None)

def _in_language(language: str):
    """The condition on ``sessions`` for sessions read in ``language``."""
    if language == UNSTATED_LANGUAGE:
        return or_(_s.c.language.is_(None), _s.c.language == language)
    return _s.c.language == language


def _started(column, scope: Scope) -> list:
    """Conditions on a session-start ``column`` for the scope's dates."""
    where = []
    if scope.first_day is not None:
        where.append(column >= _day_start(scope.first_day))
    if scope.last_day is not None and scope.last_day < date.max:  # 9999-12-31 has no next day
        where.append(column < _day_start(scope.last_day + timedelta(days=1)))
    return where


def _add(figures: dict, step: str, key: str, value: int) -> None:
    into = figures.setdefault(step, {})
    into[key] = into.get(key, 0) + value


def _parse(value) -> datetime:
    """func.min/max over a DateTime column come back as text from SQLite."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)

