"""free text: the words a session was started from and the words an answer was chosen by

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:00:00.000000

``sessions.opened_with`` is what the customer typed or pasted that routed them to the guide,
``sessions.route_note`` the sentence the router said about it ("We recognised …");
``events.said`` the free text an answer was chosen from ("still red X's").
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_with', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('route_note', sa.String(length=300), nullable=True))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('said', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('said')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('route_note')
        batch_op.drop_column('opened_with')
