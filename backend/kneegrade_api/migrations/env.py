"""Alembic environment: migrates the app's database (the URL the app passes, else its settings)."""

from alembic import context
from sqlalchemy import create_engine, pool

from kneegrade_api.config import Settings
from kneegrade_api.db import ensure_sqlite_folder
from kneegrade_api.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    """The URL ``kneegrade_api.migrate`` hands over, else the one the settings name."""
    return (
        config.attributes.get("database_url")
        or config.get_main_option("sqlalchemy.url")
        or Settings().database
    )


def run_migrations_offline() -> None:
    """Write the SQL to standard output (``alembic upgrade head --sql``) for a DBA to apply."""
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over a plain connection: SQLite's foreign keys stay off, as batch table copies need."""
    url = _database_url()
    ensure_sqlite_folder(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
