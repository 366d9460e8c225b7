"""Initial schema: runs, programs, lineage edges, evaluations, model calls, reference cache.

Revision ID: 0001
Revises:
Create Date: 2025-11-25

Written by hand and frozen: migrations never import the current models, so an
old revision keeps meaning what it meant when databases were created with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _enum(*values: str) -> sa.Enum:
    # Stored as plain strings without a CHECK constraint (see archive.models.enum_column).
    return sa.Enum(*values, native_enum=False, create_constraint=False, length=32)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("package_versions", sa.JSON(), nullable=False),
        sa.Column("isolation", sa.Text(), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=True),
        sa.Column("status", _enum("running", "finished", "failed", "interrupted"),
                  nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.String(128), nullable=False),
        sa.Column("island", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("operator", sa.Text(), nullable=False),
        sa.Column("idea", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_programs_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_programs"),
    )
    op.create_index("ix_programs_run_id", "programs", ["run_id"])
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("role", _enum("mutation", "crossover", "inspiration"), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["programs.id"],
                                name="fk_lineage_edges_parent_id_programs"),
        sa.ForeignKeyConstraint(["child_id"], ["programs.id"],
                                name="fk_lineage_edges_child_id_programs"),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_edges"),
        sa.UniqueConstraint("parent_id", "child_id", "role",
                            name="uq_lineage_edges_parent_id_child_id_role"),
    )
    op.create_index("ix_lineage_edges_parent_id", "lineage_edges", ["parent_id"])
    op.create_index("ix_lineage_edges_child_id", "lineage_edges", ["child_id"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("split", _enum("train", "validation", "test"), nullable=False),
        sa.Column("status", _enum("ok", "invalid_output", "exception", "timeout", "memory",
                                  "crashed", "forbidden", "rejected"), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("per_instance", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"],
                                name="fk_evaluations_program_id_programs"),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
        sa.UniqueConstraint("program_id", "split", name="uq_evaluations_program_id_split"),
    )
    op.create_table(
        "model_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("tokens_in", sa.BigInteger(), nullable=True),
        sa.Column("tokens_out", sa.BigInteger(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("latency", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_model_calls_run_id_runs"),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"],
                                name="fk_model_calls_program_id_programs"),
        sa.PrimaryKeyConstraint("id", name="pk_model_calls"),
    )
    op.create_index("ix_model_calls_run_id", "model_calls", ["run_id"])
    op.create_index("ix_model_calls_program_id", "model_calls", ["program_id"])
    op.create_table(
        "reference_cache",
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("lower_bound", sa.Float(), nullable=False),
        sa.Column("status", _enum("optimal", "feasible", "timeout", "infeasible", "unknown"),
                  nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", "method", name="pk_reference_cache"),
    )


def downgrade() -> None:
    for table in ("reference_cache", "model_calls", "evaluations", "lineage_edges",
                  "programs", "runs"):
        op.drop_table(table)
