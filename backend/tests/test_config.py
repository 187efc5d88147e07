"""Settings and the generated signing key."""

import stat
from pathlib import Path

import pytest
from api_helpers import app_state
from fastapi.testclient import TestClient

from kneegrade_api.config import Settings
from kneegrade_api.main import create_app


def test_secret_key_is_generated_owner_only_and_reused(settings_for) -> None:
    settings = settings_for()
    with TestClient(create_app(settings)) as client:
        key = app_state(client).secret_key
    key_file = settings.data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == key
    assert len(key) >= 60
    with TestClient(create_app(settings)) as client:
        assert app_state(client).secret_key == key


def test_secret_key_from_the_environment_wins(settings_for) -> None:
    settings = settings_for(secret_key="from-the-environment-" + "x" * 40)
    with TestClient(create_app(settings)) as client:
        assert app_state(client).secret_key.startswith("from-the-environment-")
    assert not (settings.data_dir / "secret_key").exists()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("KNEEGRADE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KNEEGRADE_CORS_ORIGINS", "http://a.test, http://b.test")
    monkeypatch.setenv("KNEEGRADE_MAX_UPLOAD_BYTES", "1234")
    settings = Settings()
    assert settings.cors_origins == ["http://a.test", "http://b.test"]
    assert settings.max_upload_bytes == 1234
    assert settings.database == f"sqlite:///{tmp_path / 'kneegrade.db'}"
    monkeypatch.setenv("KNEEGRADE_CORS_ORIGINS", '["http://c.test"]')
    monkeypatch.setenv("KNEEGRADE_DATABASE_URL", "postgresql+psycopg://db/kneegrade")
    settings = Settings()
    assert settings.cors_origins == ["http://c.test"]
    assert settings.database == "postgresql+psycopg://db/kneegrade"


def test_defaults() -> None:
    settings = Settings()
    assert settings.secret_key is None
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.models_dir == [Path("models")]
    assert settings.default_model is None
    assert settings.cors_origins == []


def test_blank_secret_key_and_database_url_mean_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KNEEGRADE_SECRET_KEY", "")
    monkeypatch.setenv("KNEEGRADE_DATABASE_URL", " ")
    settings = Settings()
    assert settings.secret_key is None
    assert settings.database_url is None
