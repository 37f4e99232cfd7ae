"""upload: one row per stored image

Additive: a new table, so the daily upload quota can be counted across processes and growth-record
media can be checked against what this deployment really stored. Files uploaded before this
revision have no row: they stay served, but cannot be attached to a new record (re-upload them).

Revision ID: e9a1c0000003
Revises: e9a1c0000004
Create Date: 2026-12-08 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import school_points.platform.columns

# revision identifiers, used by Alembic.
revision = "e9a1c0000003"
down_revision = "e9a1c0000004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("received_bytes", sa.Integer(), nullable=False),
        sa.Column("stored_bytes", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("created_at", school_points.platform.columns.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["wechat_user.id"], name=op.f("fk_upload_user_id_wechat_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload")),
        sa.UniqueConstraint("name", name=op.f("uq_upload_name")),
    )
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.create_index("ix_upload_user_id_local_day", ["user_id", "local_day"], unique=False)


def downgrade():
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.drop_index("ix_upload_user_id_local_day")
    op.drop_table("upload")
