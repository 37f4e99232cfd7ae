"""ledger_entry (local_day, kind, delta, student_id): the reports' covering index

The summary and daily reports sum the ledger's deltas by kind (and day) over a range of
school-local days, for the school or for one campus (joined to the student). With only
(kind, local_day) to go on, PostgreSQL read the whole table for any range: 130-170 ms for this
month or the last 30 days at a million rows. This index holds every column those queries read,
so a range is an index-only scan of its own days (about 30 ms for 30 days at that size).

Revision ID: e9a1c0000080
Revises: e9a1c0000050
Create Date: 2026-12-03 14:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "e9a1c0000080"
down_revision = "e9a1c0000050"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entry_day_kind_delta", ["local_day", "kind", "delta", "student_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_day_kind_delta")
