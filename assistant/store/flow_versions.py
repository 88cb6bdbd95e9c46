"""Every version of a flow the server has served, by content hash, so that a session keeps
walking the version it started on after its flow file changes (and the server restarts)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .models import FlowSession, FlowVersion, utcnow
from .repository import as_utc


@dataclass(frozen=True)
class VersionInfo:
    """A stored version of a flow: when a server first served it, how many sessions were
    started on it (``sessions``, each pinned to it to its end) and how many of those have not
    ended yet (``open``: active or abandoned, so still walking it if they come back)."""

    version: str
    first_served_at: datetime
    sessions: int
    open: int = 0


class FlowVersions:
    """The ``flow_versions`` table."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, flows) -> None:
        """Store each flow's text under its version unless it is stored already (several
        processes starting at once store it once). ``flows``: :class:`~assistant.flow.Flow`
        objects with ``text``."""
        rows = [{"flow_id": f.id, "version": f.version, "content": f.text, "file": f.file[:1000],
                 "sha256": hashlib.sha256(f.text.encode()).hexdigest(),
                 "first_served_at": utcnow()} for f in flows if f.text]
        if not rows:
            return
        dialect = self.engine.dialect.name
        with self.engine.begin() as conn:
            if dialect in ("sqlite", "postgresql"):
                insert = (sqlite if dialect == "sqlite" else postgresql).insert(FlowVersion)
                conn.execute(insert.on_conflict_do_nothing(), rows)
                return
            stored = set(conn.execute(select(FlowVersion.flow_id, FlowVersion.version)).all())
            for row in rows:
                if (row["flow_id"], row["version"]) not in stored:
                    try:
                        with conn.begin_nested():
                            conn.execute(FlowVersion.__table__.insert(), row)
                    except IntegrityError:  # another process stored it a moment ago
                        pass

    def content(self, flow_id: str, version: str) -> str | None:
        """The text of that version of the flow, or None if it was never stored."""
        with self.engine.connect() as conn:
            return conn.execute(select(FlowVersion.content).where(
                FlowVersion.flow_id == flow_id, FlowVersion.version == version)).scalar()

    def flow_ids(self) -> list[str]:
        """The ids of the flows with a stored version, sorted."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(FlowVersion.flow_id).distinct()
                                     .order_by(FlowVersion.flow_id)).scalars())

    def of(self, flow_id: str) -> list[VersionInfo]:
        """The flow's stored versions, newest first, with the sessions started on each and
        those of them not ended yet."""
        on_it = (FlowSession.flow_id == FlowVersion.flow_id,
                 FlowSession.flow_version == FlowVersion.version)
        sessions = select(func.count()).where(*on_it).scalar_subquery()
        still_open = (select(func.count()).where(*on_it, FlowSession.status != "ended")
                      .scalar_subquery())
        query = (select(FlowVersion.version, FlowVersion.first_served_at, sessions, still_open)
                 .where(FlowVersion.flow_id == flow_id)
                 .order_by(FlowVersion.first_served_at.desc(), FlowVersion.version))
        with self.engine.connect() as conn:
            return [VersionInfo(v, as_utc(at), n, o) for v, at, n, o in conn.execute(query)]
