"""processed wechat message: deferred check-in columns

Additive: three nullable columns for check-ins acknowledged at once and awarded by a job
(the sender, what they sent, when the award was done). No data to migrate.

Revision ID: 4dd74c178111
Revises: db0ee0b4ad4d
Create Date: 2026-12-01 14:21:13.847463

"""

import sqlalchemy as sa
from alembic import op

import school_points.platform.columns

# revision identifiers, used by Alembic.
revision = "4dd74c178111"
down_revision = "db0ee0b4ad4d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("processed_wechat_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("openid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("checkin", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(
            sa.Column("done_at", school_points.platform.columns.AwareDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("processed_wechat_message", schema=None) as batch_op:
        batch_op.drop_column("done_at")
        batch_op.drop_column("checkin")
        batch_op.drop_column("openid")
