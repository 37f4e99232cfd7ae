"""student.student_no (学号), student.archived_at, status 'erased', bind_code nullable

Additive for release 2: the roster import matches on 学号; the families'-data retention job counts
from archived_at; an erased student keeps its row (the ledger and orders still add up) with status
'erased' and no bind code. Students already archived get archived_at = the time of this upgrade,
so a retention period configured later counts from the upgrade, never from an unknown past.

Revision ID: e9a1c0000011
Revises: e9a1c0000010
Create Date: 2026-12-03 13:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

import school_points.platform.columns

# revision identifiers, used by Alembic.
revision = "e9a1c0000011"
down_revision = "e9a1c0000010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.add_column(sa.Column("student_no", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("archived_at", school_points.platform.columns.AwareDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_student_student_no"), ["student_no"])
        batch_op.alter_column("bind_code", existing_type=sa.String(length=16), nullable=True)
        batch_op.drop_constraint(op.f("ck_student_status"), type_="check")
        batch_op.create_check_constraint("status", "status IN ('active', 'archived', 'erased')")
    op.execute(sa.text("UPDATE student SET archived_at = CURRENT_TIMESTAMP WHERE status = 'archived'"))


def downgrade():
    op.execute(sa.text("UPDATE student SET status = 'archived' WHERE status = 'erased'"))
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_student_status"), type_="check")
        batch_op.create_check_constraint("status", "status IN ('active', 'archived')")
        batch_op.alter_column("bind_code", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_student_student_no"), type_="unique")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("student_no")
