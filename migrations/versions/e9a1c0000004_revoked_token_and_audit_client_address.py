"""revoked_token for logout; audit_log.client_address

Additive: a table of logged-out token ids (kept until the token would have expired) and a nullable
column for the client address of each audit entry. Existing rows keep NULL (address unknown).

Revision ID: e9a1c0000004
Revises: a6e61b32ddc2
Create Date: 2026-12-08 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import school_points.platform.columns

# revision identifiers, used by Alembic.
revision = "e9a1c0000004"
down_revision = "a6e61b32ddc2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", school_points.platform.columns.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_token")),
    )
    with op.batch_alter_table("revoked_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revoked_token_expires_at"), ["expires_at"], unique=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_address", sa.String(length=45), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("client_address")
    with op.batch_alter_table("revoked_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_token_expires_at"))
    op.drop_table("revoked_token")
