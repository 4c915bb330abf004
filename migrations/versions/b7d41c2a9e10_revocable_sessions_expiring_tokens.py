"""revocable sessions, service accounts, MFA reset codes, expiring API tokens

Revision ID: b7d41c2a9e10
Revises: dc02b862b816
Create Date: 2026-11-22 04:00:00

Existing tokens get the default term (90 days) from the upgrade, so integrations do not stop at once.
"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa

import incident_service.database  # noqa: F401 - the UTC datetime column type


revision = 'b7d41c2a9e10'
down_revision = 'dc02b862b816'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', incident_service.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('is_service_account', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('mfa_reset_code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('mfa_reset_code_expires_at', incident_service.database.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', incident_service.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('renewed_at', incident_service.database.UTCDateTime(timezone=True), nullable=True))
    tokens = sa.table('api_tokens', sa.column('expires_at', incident_service.database.UTCDateTime(timezone=True)))
    op.execute(tokens.update().values(expires_at=datetime.now(UTC) + timedelta(days=90)))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=incident_service.database.UTCDateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('renewed_at')
        batch_op.drop_column('expires_at')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('mfa_reset_code_expires_at')
        batch_op.drop_column('mfa_reset_code_hash')
        batch_op.drop_column('is_service_account')
        batch_op.drop_column('session_epoch')
        batch_op.drop_column('password_changed_at')
