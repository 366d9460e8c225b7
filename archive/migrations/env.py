"""Alembic environment: migrate the connection handed over by :mod:`archive.migrate`.

There is no ``alembic.ini``; :func:`archive.migrate.alembic_config` builds the
configuration in code and passes an open connection (already inside a write
transaction) in ``config.attributes["connection"]``. For the ``alembic``
command line during development, a URL in ``sqlalchemy.url`` works too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from archive.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER constraints; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as own_connection:
        _run(own_connection)
