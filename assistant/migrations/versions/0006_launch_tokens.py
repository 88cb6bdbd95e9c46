"""launch tokens: a session keeps the host's customer reference and its token's id

A session bound to a connection by a signed launch token stores the token's opaque customer
reference (shown to support, filtered on in the console) and its jti, unique, so that one
token starts one session.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 17:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_ref', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('launch_jti', sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f('ix_sessions_customer_ref'), ['customer_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_sessions_launch_jti'), ['launch_jti'], unique=True)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_launch_jti'))
        batch_op.drop_index(batch_op.f('ix_sessions_customer_ref'))
        batch_op.drop_column('launch_jti')
        batch_op.drop_column('customer_ref')
