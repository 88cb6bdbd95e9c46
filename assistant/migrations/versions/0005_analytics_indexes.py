"""analytics: answers, feedback and handoffs carry their session's start and version; indexes

Measured with bench/analytics_bench.py (1,000,000 events): the analytics page joined every
answer, feedback and handoff to its session and read both tables' rows (4.2 s for the
heaviest view); with these copied columns and covering indexes each figure comes from one
index range (see assistant/store/analytics.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:45:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CURRENT_PATH = {"sqlite_where": sa.text("superseded = 0"),
                "postgresql_where": sa.text("NOT superseded")}
# only timed answers: the per-step count cannot use this index, so it takes the one by session
TIMED = {"sqlite_where": sa.text("superseded = 0 AND spent_ms IS NOT NULL"),
         "postgresql_where": sa.text("NOT superseded AND spent_ms IS NOT NULL")}
COMMENTED = {"sqlite_where": sa.text("comment IS NOT NULL AND comment != ''"),
             "postgresql_where": sa.text("comment IS NOT NULL AND comment != ''")}


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flow_id', sa.String(length=64), nullable=True))
    for table in ('events', 'feedback', 'handoffs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('session_started_at', sa.DateTime(timezone=True),
                                          nullable=True))
            batch_op.add_column(sa.Column('session_version', sa.String(length=12),
                                          nullable=True))
    # existing rows: copy their session's flow, start and version
    op.execute("UPDATE events SET flow_id = (SELECT sessions.flow_id FROM sessions "
               "WHERE sessions.id = events.session_id)")
    for table in ('events', 'feedback', 'handoffs'):
        op.execute(f"UPDATE {table} SET "
                   f"session_started_at = (SELECT sessions.created_at FROM sessions "
                   f"WHERE sessions.id = {table}.session_id), "
                   f"session_version = (SELECT sessions.flow_version FROM sessions "
                   f"WHERE sessions.id = {table}.session_id)")
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_flow_step_session',
                              ['flow_id', 'from_step', 'session_id', 'session_started_at',
                               'session_version', 'spent_ms', 'superseded'], unique=False,
                              **CURRENT_PATH)
        batch_op.create_index('ix_events_flow_step_spent',
                              ['flow_id', 'from_step', 'spent_ms', 'session_started_at',
                               'session_version', 'superseded'], unique=False, **TIMED)
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sessions_flow_figures',
                              ['flow_id', 'step', 'status', 'outcome', 'cause', 'created_at',
                               'updated_at', 'flow_version', 'id'], unique=False)
        batch_op.create_index('ix_sessions_flow_version',
                              ['flow_id', 'flow_version', 'created_at'], unique=False)
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_flow_reaction',
                              ['flow_id', 'reaction', 'session_started_at',
                               'session_version'], unique=False)
        batch_op.create_index('ix_feedback_flow_comments',
                              ['flow_id', 'created_at', 'session_started_at',
                               'session_version'], unique=False, **COMMENTED)
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_flow_session',
                              ['flow_id', 'session_id', 'session_started_at',
                               'session_version'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_flow_session')
        batch_op.drop_column('session_version')
        batch_op.drop_column('session_started_at')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_flow_comments')
        batch_op.drop_index('ix_feedback_flow_reaction')
        batch_op.drop_column('session_version')
        batch_op.drop_column('session_started_at')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_flow_version')
        batch_op.drop_index('ix_sessions_flow_figures')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_flow_step_spent')
        batch_op.drop_index('ix_events_flow_step_session')
        batch_op.drop_column('session_version')
        batch_op.drop_column('session_started_at')
        batch_op.drop_column('flow_id')
