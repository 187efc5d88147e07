"""What the app sets up once at start-up and every request shares."""

import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kneegrade_api.config import Settings
from kneegrade_api.db import create_db_engine, session_factory
from kneegrade_api.doctor import sweep
from kneegrade_api.inference import LOADED, ModelRegistry, load_localiser
from kneegrade_api.migrate import upgrade_database
from kneegrade_api.security import load_or_create_secret_key
from kneegrade_api.storage import ImageStore
from kneegrade_api.throttle import Throttle
from kneegrade_ml.serving import Localiser, configure_cpu

log = logging.getLogger(__name__)


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
    localiser: Localiser | None = None
    localiser_status: str = "off"

    @classmethod
    def start(cls, settings: Settings) -> "AppState":
        """Migrate the database, get the signing key and load every model: once, before serving."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        configure_cpu()
        upgrade_database(settings.database)
        engine = create_db_engine(settings.database)
        if settings.secret_key is not None:
            secret_key = settings.secret_key.get_secret_value()
        else:
            secret_key = load_or_create_secret_key(settings.secret_key_file)
        registry = ModelRegistry.load(
            settings.models_dir, settings.default_model, settings.engine
        )
        localiser, localiser_status = load_localiser(settings.localiser_dir)
        sessions = session_factory(engine)
        store = ImageStore(settings.uploads_dir)
        with sessions() as session:
            sweep(session, store)
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
            localiser,
            localiser_status,
        )

    def close(self) -> None:
        self.engine.dispose()
