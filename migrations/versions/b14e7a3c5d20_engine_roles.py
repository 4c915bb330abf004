"""engine roles: each clock engine's heartbeat says whether it is the active one (it runs the calendar jobs) or a
standby (it fires alerts and delivers, and takes the calendar jobs over when the active one stops)

Revision ID: b14e7a3c5d20
Revises: 903cc948f27d
Create Date: 2026-11-24 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b14e7a3c5d20'
down_revision = '903cc948f27d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('engine_heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.Enum('active', 'standby', name='enginerole', native_enum=False, length=20),
                                      server_default='active', nullable=False))


def downgrade():
    with op.batch_alter_table('engine_heartbeats', schema=None) as batch_op:
        batch_op.drop_column('role')
