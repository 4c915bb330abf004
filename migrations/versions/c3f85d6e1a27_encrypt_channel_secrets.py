"""store channel credentials encrypted: SMTP password, webhook secret, webhook URL

Revision ID: c3f85d6e1a27
Revises: b7d41c2a9e10
Create Date: 2026-11-22 04:10:00

The columns widen (ciphertext is longer than the text), then every plain value already stored is encrypted in
place with the running app's newest FIELD_ENCRYPTION_KEY: no plain credential is left behind. A value that
already decrypts (a re-run) is left as it is.
"""
from alembic import op
import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask import current_app

import incident_service.database
from incident_service.keys import field_cipher


revision = 'c3f85d6e1a27'
down_revision = 'b7d41c2a9e10'
branch_labels = None
depends_on = None

COLUMNS = {'smtp_password': (255, 1500), 'secret': (255, 1500), 'url': (1000, 4000)}


def _channels():
    return sa.table('notify_channels', sa.column('id', sa.Integer), *(sa.column(name, sa.String) for name in COLUMNS))


def _rewrite(transform):
    cipher = field_cipher(current_app.config)
    connection = op.get_bind()
    channels = _channels()
    for row in connection.execute(sa.select(channels)).mappings().all():
        values = {}
        for name in COLUMNS:
            if row[name] is not None:
                values[name] = transform(cipher, row[name])
        if values:
            connection.execute(channels.update().where(channels.c.id == row['id']).values(**values))


def _encrypt(cipher, value):
    try:
        cipher.decrypt(value.encode())
        return value
    except InvalidToken:
        return cipher.encrypt(value.encode()).decode()


def _decrypt(cipher, value):
    return cipher.decrypt(value.encode()).decode()


def upgrade():
    with op.batch_alter_table('notify_channels', schema=None) as batch_op:
        for name, (old, new) in COLUMNS.items():
            batch_op.alter_column(name, existing_type=sa.String(length=old),
                                  type_=incident_service.database.EncryptedText(length=new), existing_nullable=True)
    _rewrite(_encrypt)


def downgrade():
    _rewrite(_decrypt)
    with op.batch_alter_table('notify_channels', schema=None) as batch_op:
        for name, (old, new) in COLUMNS.items():
            batch_op.alter_column(name, existing_type=incident_service.database.EncryptedText(length=new),
                                  type_=sa.String(length=old), existing_nullable=True)
