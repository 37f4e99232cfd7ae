"""notification: claim token and in-flight attempt start

Additive: two nullable columns for the outbox's send state machine (delivery.py): the token of
the worker holding a claim (only it may start sending) and when the earliest send whose outcome
was never stored began (resends are safe only inside WeChat's client_msg_id window). Rows left
`sending` by the old code keep working: they count as interrupted sends.

Revision ID: e9a1c0000002
Revises: e9a1c0000003
Create Date: 2026-12-03 08:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import school_points.platform.columns

# revision identifiers, used by Alembic.
revision = "e9a1c0000002"
down_revision = "e9a1c0000003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("attempt_started_at", school_points.platform.columns.AwareDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("attempt_started_at")
        batch_op.drop_column("claim_token")
