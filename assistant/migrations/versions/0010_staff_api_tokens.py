"""staff API tokens: Bearer tokens for the JSON API's staff endpoints (only their SHA-256)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('staff_api_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_staff_api_tokens_staff_id', 'staff_api_tokens', ['staff_id'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_staff_api_tokens_staff_id', table_name='staff_api_tokens')
    op.drop_table('staff_api_tokens')
