"""Timing steps: an evaluation records its steps on the run's timing instances.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

The runtime gate at scale (``discover.search.timing``) counts a candidate's steps on
a few large generated instances and rejects it beyond a multiple of the reference
heuristic's. The count was only quoted in a too-slow verdict's error text; the
search now uses it for every program (how much of the step budget a parent leaves
its children), and a resumed run must see the same figures, so it gets a column.
Rows written before have no count (``NULL``), as have runs without the gate.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("steps", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("steps")
