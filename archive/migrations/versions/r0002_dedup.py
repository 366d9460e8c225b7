"""Deduplication: duplicate programs, behaviour fingerprints, per-run hash indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25

A program the loop recognises as a duplicate is recorded (it cost a model
call) with ``duplicate_of`` pointing at the original and no evaluations. The
loop looks programs up by code hash and behaviour fingerprint within a run,
hence the two composite indexes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: on SQLite adding a foreign key means rebuilding the table.
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("behaviour_hash", sa.String(128), nullable=True))
        batch.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_programs_duplicate_of_programs", "programs", ["duplicate_of"], ["id"]
        )
        batch.create_index("ix_programs_duplicate_of", ["duplicate_of"])
        batch.create_index("ix_programs_run_id_code_hash", ["run_id", "code_hash"])
        batch.create_index("ix_programs_run_id_behaviour_hash", ["run_id", "behaviour_hash"])


def downgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.drop_index("ix_programs_run_id_behaviour_hash")
        batch.drop_index("ix_programs_run_id_code_hash")
        batch.drop_index("ix_programs_duplicate_of")
        batch.drop_constraint("fk_programs_duplicate_of_programs", type_="foreignkey")
        batch.drop_column("duplicate_of")
        batch.drop_column("behaviour_hash")
