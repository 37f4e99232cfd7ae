"""upload.admin_id: admins upload goods images too; user_id becomes nullable

Additive: a nullable owner column for uploads sent through the admin API, with its own index for
the per-admin daily quota; exactly one of user_id and admin_id is set (check constraint). Every
existing row has a user_id, so the constraint holds for them as they are.

Revision ID: e9a1c0000050
Revises: e9a1c0000060
Create Date: 2026-12-03 14:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e9a1c0000050"
down_revision = "e9a1c0000060"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admin_id", sa.Integer(), nullable=True))
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(batch_op.f("fk_upload_admin_id_admin"), "admin", ["admin_id"], ["id"])
        batch_op.create_index("ix_upload_admin_id_local_day", ["admin_id", "local_day"], unique=False)
        batch_op.create_check_constraint("one_owner", "(user_id IS NULL) <> (admin_id IS NULL)")


def downgrade():
    # Goods images sent by admins have no WeChat user to belong to: their rows go (the files stay
    # on disk and are still served; only the quota and erasure bookkeeping forget them).
    op.execute(sa.text("DELETE FROM upload WHERE user_id IS NULL"))
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_upload_one_owner"), type_="check")
        batch_op.drop_index("ix_upload_admin_id_local_day")
        batch_op.drop_constraint(batch_op.f("fk_upload_admin_id_admin"), type_="foreignkey")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("admin_id")
