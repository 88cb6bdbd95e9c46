"""article feedback: the help-center article's own "Did this answer your question?"

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00.000000

(0006 is made on a parallel branch; this revision is linked after it when both are merged.)
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('article_feedback',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('form_id', sa.String(length=32), nullable=False),
    sa.Column('article', sa.String(length=300), nullable=False),
    sa.Column('section', sa.String(length=120), nullable=True),
    sa.Column('reaction', sa.String(length=16), nullable=False),
    sa.Column('flow_id', sa.String(length=64), nullable=True),
    sa.Column('session_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'],
                            name='fk_article_feedback_session', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('form_id')
    )
    with op.batch_alter_table('article_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_article_feedback_flow_created', ['flow_id', 'created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_article_feedback_session_id'), ['session_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_article_feedback_created_at'), ['created_at'],
                              unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('article_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_feedback_created_at'))
        batch_op.drop_index(batch_op.f('ix_article_feedback_session_id'))
        batch_op.drop_index('ix_article_feedback_flow_created')
    op.drop_table('article_feedback')
