"""Help-center articles' own "Did this answer your question?": the reactions, the guide
session an unhappy reaction opened, and the figures the console's analytics shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, and_, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .models import ArticleFeedback, FlowSession

REACTIONS = ("yes", "partly", "no")
UNHAPPY = ("partly", "no")

_a = ArticleFeedback.__table__
_s = FlowSession.__table__


@dataclass
class ArticleFigures:
    """One article (and section) in a date range: ``reactions`` by reaction, how many unhappy
    readers (``partly``, ``no``) started a guide from it (``opened``) and how many of those
    finished it resolved (``resolved``)."""

    article: str
    section: str | None
    reactions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REACTIONS, 0))
    opened: int = 0
    resolved: int = 0

    @property
    def unhappy(self) -> int:
        return self.reactions["partly"] + self.reactions["no"]


class ArticleFeedbacks:
    """Reads and writes :class:`~assistant.store.models.ArticleFeedback` rows."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, form_id: str, article: str, section: str | None, reaction: str,
               flow_id: str | None) -> int:
        """Store a reaction and return its row id. The same form (``form_id``) sent again
        changes its row's reaction instead of adding one (a reader changing their mind, a
        double click)."""
        values = {"article": article, "section": section, "reaction": reaction,
                  "flow_id": flow_id}
        with self.engine.begin() as conn:
            row_id = conn.execute(select(_a.c.id).where(_a.c.form_id == form_id)).scalar()
            if row_id is None:
                try:
                    with conn.begin_nested():
                        return conn.execute(insert(_a).values(form_id=form_id, **values)
                                            .returning(_a.c.id)).scalar_one()
                except IntegrityError:  # the same form sent twice at the same moment
                    row_id = conn.execute(select(_a.c.id).where(_a.c.form_id == form_id)
                                          ).scalar_one()
            conn.execute(update(_a).where(_a.c.id == row_id).values(reaction=reaction))
            return row_id

    def get(self, row_id: int) -> ArticleFeedback | None:
        from sqlalchemy.orm import Session
        with Session(self.engine) as s:
            return s.get(ArticleFeedback, row_id)

    def link_session(self, row_id: int, session_id: str, flow_id: str) -> bool:
        """Record that reaction ``row_id`` opened guide session ``session_id`` (of
        ``flow_id``). Only the first session counts: a reaction already linked stays as it
        is (False)."""
        with self.engine.begin() as conn:
            done = conn.execute(update(_a).where(_a.c.id == row_id, _a.c.session_id.is_(None))
                                .values(session_id=session_id, flow_id=flow_id)).rowcount
        return bool(done)

    def figures(self, flow_id: str, first_day: date | None, last_day: date | None
                ) -> tuple[list[ArticleFigures], int]:
        """The reactions that lead to ``flow_id``'s guide, given on UTC dates ``first_day`` to
        ``last_day`` (both included; None: no bound), per article and section (most reactions
        first); and how many reactions in those dates lead to no guide at all."""
        when = []
        if first_day is not None:
            when.append(_a.c.created_at >= datetime.combine(first_day, time(), UTC))
        if last_day is not None and last_day < date.max:
            when.append(_a.c.created_at < datetime.combine(last_day + timedelta(days=1),
                                                           time(), UTC))
        unhappy = _a.c.reaction.in_(UNHAPPY)
        opened = and_(unhappy, _a.c.session_id.is_not(None))
        query = (select(_a.c.article, _a.c.section, _a.c.reaction, func.count(),
                        func.count(case((opened, 1))),
                        func.count(case((and_(opened, _s.c.outcome == "resolved"), 1))))
                 .select_from(_a.outerjoin(_s, _s.c.id == _a.c.session_id))
                 .where(_a.c.flow_id == flow_id, *when)
                 .group_by(_a.c.article, _a.c.section, _a.c.reaction))
        rows: dict[tuple, ArticleFigures] = {}
        with self.engine.connect() as conn:
            for article, section, reaction, count, n_opened, n_resolved in conn.execute(query):
                figures = rows.setdefault((article, section), ArticleFigures(article, section))
                if reaction in figures.reactions:
                    figures.reactions[reaction] += count
                figures.opened += n_opened
                figures.resolved += n_resolved
            no_guide = conn.execute(select(func.count()).select_from(_a)
                                    .where(_a.c.flow_id.is_(None), *when)).scalar_one()
        ordered = sorted(rows.values(), key=lambda f: (-sum(f.reactions.values()), f.article,
                                                       f.section or ""))
        return ordered, no_guide
