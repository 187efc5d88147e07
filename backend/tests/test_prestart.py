"""Replicas on several hosts migrate in one pre-start step (``kneegrade-api migrate``), not in
every worker: with KNEEGRADE_MIGRATE_ON_START=false a server refuses a database not at head."""

import pytest
from api_helpers import register
from fastapi.testclient import TestClient

from kneegrade_api.__main__ import main
from kneegrade_api.main import create_app


def test_a_server_that_does_not_migrate_waits_for_the_prestart_step(
    settings_for, monkeypatch, capsys
) -> None:
    settings = settings_for(migrate_on_start=False)
    with (
        pytest.raises(RuntimeError, match="run `kneegrade-api migrate` first"),
        TestClient(create_app(settings)),
    ):
        pass
    monkeypatch.setenv("KNEEGRADE_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("KNEEGRADE_DATABASE_URL", settings.database_url)
    assert main(["migrate"]) == 0
    assert "newest schema" in capsys.readouterr().out
    assert settings.secret_key_file.is_file()
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/health").json()["database"] == "ok"
        register(client)
