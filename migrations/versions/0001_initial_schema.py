"""Initial schema: calls, call_events, users, api_tokens, idempotency_keys.

Timestamps are UTC: timestamptz on PostgreSQL, naive UTC text on SQLite
(webapp.db.UTCDateTime converts). Types are spelled out here rather than
imported from the models, so this revision never changes under later code.

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 08:52:59.048739
"""
from alembic import op
import sqlalchemy as sa

UTC = sa.DateTime(timezone=True)


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('last_used_at', UTC, nullable=True),
    sa.Column('revoked_at', UTC, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('calls',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=True),
    sa.Column('from_number', sa.String(length=20), nullable=False),
    sa.Column('caller_id', sa.String(length=32), nullable=False),
    sa.Column('flow_url', sa.Text(), nullable=False),
    sa.Column('call_type', sa.String(length=16), nullable=True),
    sa.Column('time_limit', sa.Integer(), nullable=True),
    sa.Column('time_out', sa.Integer(), nullable=True),
    sa.Column('custom_field', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('placed_at', UTC, nullable=True),
    sa.Column('answered_at', UTC, nullable=True),
    sa.Column('ended_at', UTC, nullable=True),
    sa.Column('conversation_duration', sa.Integer(), nullable=True),
    sa.Column('recording_url', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=32), nullable=True),
    sa.Column('updated_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('sid', name=op.f('uq_calls_sid'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_calls_from_number_created_at', ['from_number', 'created_at'], unique=False)
        batch_op.create_index('ix_calls_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('last_login_at', UTC, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('call_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=True),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('event_type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('occurred_at', UTC, nullable=True),
    sa.Column('received_at', UTC, nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('dedup_key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_events_call_id_calls'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_events')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_call_events_dedup_key'))
    )
    with op.batch_alter_table('call_events', schema=None) as batch_op:
        batch_op.create_index('ix_call_events_call_id_received_at', ['call_id', 'received_at'], unique=False)
        batch_op.create_index('ix_call_events_call_sid', ['call_sid'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_idempotency_keys_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_keys_scope'))
    )


def downgrade() -> None:
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('call_events', schema=None) as batch_op:
        batch_op.drop_index('ix_call_events_call_sid')
        batch_op.drop_index('ix_call_events_call_id_received_at')

    op.drop_table('call_events')
    op.drop_table('users')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_status_created_at')
        batch_op.drop_index('ix_calls_from_number_created_at')
        batch_op.drop_index('ix_calls_created_at_id')

    op.drop_table('calls')
    op.drop_table('api_tokens')
