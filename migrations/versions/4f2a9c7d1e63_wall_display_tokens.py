"""wall display tokens: read-only keys for the board's wall mode

Revision ID: 4f2a9c7d1e63
Revises: e83d6521c93b
Create Date: 2026-11-23 09:00:00
"""
from alembic import op
import sqlalchemy as sa

import incident_service.database  # noqa: F401 - the UTC datetime column type


revision = '4f2a9c7d1e63'
down_revision = 'e83d6521c93b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('display_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', incident_service.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('last_used_at', incident_service.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', incident_service.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_display_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_display_tokens_token_hash'))
    )


def downgrade():
    op.drop_table('display_tokens')
