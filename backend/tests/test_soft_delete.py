"""Deleting hides a prediction at once and keeps it (files too) until it is purged; an admin
can restore it meanwhile."""

from datetime import timedelta

from api_helpers import Account, app_state, login, register, stored_files, upload
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from kneegrade_api.__main__ import main
from kneegrade_api.main import create_app
from kneegrade_api.models import AuditEvent, Prediction, utcnow
from kneegrade_api.purge import purge_deleted

ADMIN = {"admin_username": "root", "admin_password": "root-Sup3r-secret!"}


def _admin(client: TestClient) -> dict[str, str]:
    return login(client, ADMIN["admin_username"], ADMIN["admin_password"])


def _age_deletion(client: TestClient, prediction_id: int, days: float) -> None:
    """Pretend the prediction was deleted ``days`` ago."""
    with app_state(client).sessions() as session:
        session.execute(
            update(Prediction)
            .where(Prediction.id == prediction_id)
            .values(deleted_at=utcnow() - timedelta(days=days))
        )
        session.commit()


def test_deleted_prediction_keeps_its_files_and_an_admin_restores_it(
    settings_for, sample_png: bytes
) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        user = register(client)
        created = upload(client, user, sample_png).json()
        files = stored_files(client, user)
        path = f"/api/predictions/{created['id']}"
        assert client.delete(path, headers=user.headers).status_code == 204
        assert client.get(path, headers=user.headers).status_code == 404
        assert client.delete(path, headers=user.headers).status_code == 404
        assert stored_files(client, user) == files

        restore = f"/api/admin/predictions/{created['id']}/restore"
        assert client.post(restore, headers=user.headers).status_code == 403
        restored = client.post(restore, headers=_admin(client))
        assert restored.status_code == 200, restored.text
        assert restored.json()["grade"] == created["grade"]
        assert client.get(path, headers=user.headers).json()["id"] == created["id"]
        assert client.post(restore, headers=_admin(client)).status_code == 404


def test_purge_removes_old_deletions_only(settings_for, sample_png: bytes) -> None:
    with TestClient(create_app(settings_for())) as client:
        user = register(client)
        old, young = (upload(client, user, sample_png).json() for _ in range(2))
        for prediction in (old, young):
            client.delete(f"/api/predictions/{prediction['id']}", headers=user.headers)
        _age_deletion(client, old["id"], days=40)
        state = app_state(client)
        with state.sessions() as session:
            assert purge_deleted(session, state.store, older_than_days=30) == 1
            ids = session.scalars(select(Prediction.id)).all()
            purged = session.scalars(
                select(AuditEvent.prediction_id).where(AuditEvent.action == "purged")
            ).all()
        assert ids == [young["id"]]
        assert purged == [old["id"]]
        assert (
            len(stored_files(client, user)) == 2
        )  # the young one's image and thumbnail


def test_purge_command_empties_the_bin(
    settings_for, sample_png: bytes, monkeypatch, capsys
) -> None:
    settings = settings_for()
    with TestClient(create_app(settings)) as client:
        user: Account = register(client)
        created = upload(client, user, sample_png).json()
        client.delete(f"/api/predictions/{created['id']}", headers=user.headers)
    monkeypatch.setenv("KNEEGRADE_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("KNEEGRADE_DATABASE_URL", settings.database_url)
    assert main(["purge", "--days", "0"]) == 0
    assert "purged 1 predictions" in capsys.readouterr().out
    assert not any((settings.uploads_dir / str(user.id)).iterdir())


def test_an_idempotency_key_of_a_deleted_upload_is_a_conflict(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    headers = {**user.headers, "Idempotency-Key": "scan-77"}
    files = {"file": ("knee.png", sample_png, "image/png")}
    first = api.post("/api/predictions", headers=headers, files=files)
    api.delete(f"/api/predictions/{first.json()['id']}", headers=user.headers)
    again = api.post("/api/predictions", headers=headers, files=files)
    assert again.status_code == 409
    assert "deleted" in again.json()["detail"]
