"""Too slow: its own evaluation status instead of ``timeout``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

The cascade used to archive a candidate slower than the run's runtime cap as
``timeout``, the status of a candidate the sandbox stopped at its deadline, so
the archive could not tell the two apart. A too-slow verdict's error always
starts with ``too slow:`` (written by ``discover.search.cascade``); those rows become
``too_slow``. Statuses are stored as text without a CHECK constraint
(``archive.models.enum_column``), so only data changes.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE evaluations SET status = 'too_slow' "
               "WHERE status = 'timeout' AND error LIKE 'too slow:%'")


def downgrade() -> None:
    op.execute("UPDATE evaluations SET status = 'timeout' WHERE status = 'too_slow'")
