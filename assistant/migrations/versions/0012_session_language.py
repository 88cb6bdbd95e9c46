"""session language: the language a customer reads a session in, copied onto its feedback and
handoffs (analytics and support see which language an answer was given in)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00.000000

Embedded frames have no cookies, so the choice lives on the session row, not in a cookie.
None (rows made before languages) means English.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ('sessions', 'feedback', 'handoffs')


def upgrade() -> None:
    """Upgrade schema."""
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('language')
