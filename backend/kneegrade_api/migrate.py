"""Bring a database to the newest schema with the Alembic migrations shipped in this package."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(database_url: str) -> Config:
    """Alembic's config for ``database_url``, found wherever the package is installed."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str) -> None:
    """Apply every pending migration; a database already at head is left as it is."""
    command.upgrade(alembic_config(database_url), "head")


def database_at_head(database_url: str) -> bool:
    """Whether the database has every migration this package ships (and no other)."""
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    return set(current) == set(head)
