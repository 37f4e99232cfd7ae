"""admin.session_generation: ending every session of an admin at once

Additive: a counter carried in every admin token; the guard refuses a token whose counter is not
the admin's current one. Disabling an admin, or changing their password, role or campus, bumps
it. Existing rows start at 0, the value tokens issued before this revision are read as, so nobody
is logged out by the upgrade.

Revision ID: e9a1c0000060
Revises: e9a1c0000040
Create Date: 2026-12-03 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e9a1c0000060"
down_revision = "e9a1c0000040"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("admin", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("admin", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
