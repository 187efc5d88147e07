"""What the app sets up once at start-up and every request shares."""

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kneegrade_api.concurrency import WorkSlots
from kneegrade_api.config import Settings
from kneegrade_api.crud import UsernameTaken, ensure_admin
from kneegrade_api.db import create_db_engine, session_factory
from kneegrade_api.doctor import sweep
from kneegrade_api.inference import LOADED, ModelRegistry, load_localiser
from kneegrade_api.migrate import database_at_head, upgrade_database
from kneegrade_api.security import load_or_create_secret_key
from kneegrade_api.storage import ImageStore
from kneegrade_api.throttle import Throttle
from kneegrade_ml.serving import Localiser, configure_cpu, release_free_memory

log = logging.getLogger(__name__)

START_LOCK = ".start.lock"
"""Held in the data folder while a process migrates the database and makes the signing key, so
server workers starting together do both once (the others wait, then find them done)."""


@contextmanager
def one_at_a_time(lock_file: Path) -> Iterator[None]:
    """An exclusive lock across processes on this host (``flock``), released on exit."""
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare(settings: Settings, migrate: bool = True) -> str:
    """The pre-start step, once per data folder at a time: bring the database to the newest
    schema (or, with ``migrate`` false, check that it is there) and get the signing key."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with one_at_a_time(settings.data_dir / START_LOCK):
        if migrate:
            upgrade_database(settings.database)
        elif not database_at_head(settings.database):
            raise RuntimeError(
                "the database is not at the newest schema and KNEEGRADE_MIGRATE_ON_START is"
                " false: run `kneegrade-api migrate` first"
            )
        if settings.secret_key is not None:
            return settings.secret_key.get_secret_value()
        return load_or_create_secret_key(settings.secret_key_file)


def _first_admin(session: Session, settings: Settings) -> None:
    """The admin the settings name, made or promoted at start; a weak password stops the start."""
    if settings.admin_username is None:
        return
    if settings.admin_password is None:
        raise RuntimeError("KNEEGRADE_ADMIN_USERNAME needs KNEEGRADE_ADMIN_PASSWORD")
    try:
        ensure_admin(
            session, settings.admin_username, settings.admin_password.get_secret_value()
        )
    except ValidationError as err:
        raise RuntimeError(f"KNEEGRADE_ADMIN_USERNAME/PASSWORD: {err}") from err
    except UsernameTaken:
        session.rollback()  # another worker made it at the same moment


@dataclass
class AppState:
    """Settings, database, signing key, models, localiser and image store of one running app."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret_key: str
    registry: ModelRegistry
    store: ImageStore
    throttle: Throttle
    slots: WorkSlots
    localiser: Localiser | None = None
    localiser_status: str = "off"

    @classmethod
    def start(cls, settings: Settings) -> "AppState":
        """Migrate the database, get the signing key and load every model: once, before serving."""
        configure_cpu()
        secret_key = prepare(settings, migrate=settings.migrate_on_start)
        engine = create_db_engine(settings.database)
        registry = ModelRegistry.load(
            settings.models_dir, settings.default_model, settings.engine
        )
        localiser, localiser_status = load_localiser(
            settings.localiser_dir, settings.engine
        )
        sessions = session_factory(engine)
        store = ImageStore(settings.uploads_dir)
        with sessions() as session:
            sweep(session, store)
            _first_admin(session, settings)
        for model_id, state in registry.status.items():
            if state != LOADED:
                log.warning("model %s is not served: %s", model_id, state)
        return cls(
            settings,
            engine,
            sessions,
            secret_key,
            registry,
            store,
            Throttle.from_settings(
                settings.login_rate_limit,
                settings.register_rate_limit,
                settings.failed_login_limit,
            ),
            WorkSlots(
                settings.max_heavy_per_user,
                settings.max_heavy_total,
                settings.heavy_wait_seconds,
                on_idle=release_free_memory,
            ),
            localiser,
            localiser_status,
        )

    def close(self) -> None:
        self.engine.dispose()
