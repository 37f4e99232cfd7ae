"""oa_scene_qr: the official account's permanent scene QR codes, fetched once and kept

Additive: a new table. The printable bind sheets draw each student's `bind_<code>` QR code from
the content WeChat returned for it; a row without content is a fetch in progress (a claim).

Revision ID: e9a1c0000040
Revises: e9a1c0000011
Create Date: 2026-12-10 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import school_points.platform.columns

# revision identifiers, used by Alembic.
revision = "e9a1c0000040"
down_revision = "e9a1c0000011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oa_scene_qr",
        sa.Column("scene", sa.String(length=64), nullable=False),
        sa.Column("content", sa.String(length=255), nullable=True),
        sa.Column("ticket", sa.String(length=255), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", school_points.platform.columns.AwareDateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", school_points.platform.columns.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scene", name=op.f("pk_oa_scene_qr")),
    )


def downgrade():
    op.drop_table("oa_scene_qr")
