"""Migrations build the schema the models describe; SQLite enforces the foreign keys."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from api_helpers import Account, app_state, upload
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from kneegrade_api.db import create_db_engine
from kneegrade_api.migrate import alembic_config, upgrade_database
from kneegrade_api.models import Base, Prediction, User, utcnow


def test_migration_creates_the_schema(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    schema = inspect(engine)
    assert set(schema.get_table_names()) == {
        "alembic_version",
        "users",
        "predictions",
        "audit_events",
        "api_keys",
        "deliveries",
    }
    (fk,) = schema.get_foreign_keys("predictions")
    assert fk["referred_table"] == "users" and fk["options"]["ondelete"] == "CASCADE"
    assert sorted(i["name"] for i in schema.get_indexes("predictions")) == [
        "ix_predictions_study_instance_uid",
        "ix_predictions_upload_id",
        "ix_predictions_user_created",
    ]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_upgrade_is_idempotent_and_keeps_data(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'existing.db'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(
            User.__table__.insert().values(
                username="kept",
                name="Kept",
                role="admin",
                password_hash="x",
                created_at=utcnow(),
            )
        )
    upgrade_database(url)
    with engine.connect() as connection:
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))
        assert (
            version
            == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        )
        assert connection.scalar(select(User.username)) == "kept"
    engine.dispose()


def test_upgrade_from_0001_keeps_predictions_without_heatmaps(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0001")
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, name, role, password_hash, created_at)"
                " VALUES (1, 'old', 'Old', 'clinician', 'x', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO predictions (user_id, image_path, thumbnail_path,"
                " original_filename, model_kind, model_version, grade, confidence,"
                " probabilities, created_at) VALUES (1, 'uploads/1/a.png', 'uploads/1/a.thumb.png', 'a.png',"
                " 'rf', 'v', 2, 0.9, '[0, 0.05, 0.9, 0.05, 0]', '2026-01-01 00:00:00')"
            )
        )
    upgrade_database(url)
    with engine.connect() as connection:
        row = connection.execute(
            select(
                Prediction.grade,
                Prediction.heatmap_path,
                Prediction.model_id,
                Prediction.model_trained_on,
                Prediction.image_path,
                Prediction.thumbnail_path,
            )
        ).one()
    assert tuple(row) == (2, None, "rf", None, "1/a.png", "1/a.thumb.png")
    engine.dispose()


def test_the_database_enforces_foreign_keys(api: TestClient) -> None:
    state = app_state(api)
    with state.sessions() as session:
        if state.engine.dialect.name == "sqlite":  # off unless db.py turns it on
            assert session.scalar(text("PRAGMA foreign_keys")) == 1
        session.add(
            Prediction(
                user_id=987654,
                image_path="x",
                thumbnail_path="y",
                original_filename="z",
                model_id="rf",
                model_kind="rf",
                model_version="v",
                grade=0,
                confidence=1.0,
                probabilities=[1.0, 0, 0, 0, 0],
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_deleting_a_user_deletes_their_predictions(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    upload(api, user, sample_png, "rf")
    with app_state(api).sessions() as session:
        session.execute(delete(User).where(User.id == user.id))
        session.commit()
        count = select(func.count()).where(Prediction.user_id == user.id)
        assert session.scalar(count) == 0
