"""Machine clients: an admin makes a scoped key, shown once and stored hashed; it works within
its scopes, acts as its account, never administers, and stops at once when revoked."""

from api_helpers import app_state, login, register
from fastapi.testclient import TestClient
from sqlalchemy import select

from kneegrade_api.main import create_app
from kneegrade_api.models import ApiKey

ADMIN = {"admin_username": "root", "admin_password": "root-Sup3r-secret!"}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_an_api_key_grades_and_reads_then_stops_when_revoked(
    settings_for, sample_png: bytes
) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        admin = login(client, ADMIN["admin_username"], ADMIN["admin_password"])
        pacs = register(client, "pacs-router")
        made = client.post(
            "/api/admin/api-keys",
            json={
                "name": "PACS",
                "scopes": ["predict", "read"],
                "username": "pacs-router",
            },
            headers=admin,
        )
        assert made.status_code == 201, made.text
        body = made.json()
        key = body["key"]
        assert key.startswith(f"kg_{body['prefix']}_")
        assert body["user"]["username"] == "pacs-router"
        with app_state(client).sessions() as session:
            stored = session.scalar(select(ApiKey))
            assert key not in (stored.secret_hash, stored.prefix)
        listed = client.get("/api/admin/api-keys", headers=admin).json()
        assert "key" not in listed[0]

        graded = client.post(
            "/api/predictions",
            headers=_bearer(key),
            files={"file": ("knee.png", sample_png, "image/png")},
        )
        assert graded.status_code == 201, graded.text
        mine = client.get("/api/predictions", headers=pacs.headers).json()
        assert [p["id"] for p in mine["items"]] == [graded.json()["id"]]
        path = f"/api/predictions/{graded.json()['id']}"
        assert client.get(path, headers=_bearer(key)).status_code == 200

        no_delete = client.delete(path, headers=_bearer(key))
        assert no_delete.status_code == 403
        assert "'delete' scope" in no_delete.json()["detail"]

        revoked = client.delete(f"/api/admin/api-keys/{body['id']}", headers=admin)
        assert revoked.status_code == 204
        after = client.get(path, headers=_bearer(key))
        assert after.status_code == 401
        assert "revoked" in after.json()["detail"]
        listed = client.get("/api/admin/api-keys", headers=admin).json()
        assert listed[0]["revoked_at"] is not None
        assert listed[0]["last_used_at"] is not None


def test_keys_never_administer_and_clinicians_cannot_make_them(settings_for) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        admin = login(client, ADMIN["admin_username"], ADMIN["admin_password"])
        clinician = register(client)
        request = {"name": "mine", "scopes": ["read"]}
        refused = client.post(
            "/api/admin/api-keys", json=request, headers=clinician.headers
        )
        assert refused.status_code == 403
        key = client.post("/api/admin/api-keys", json=request, headers=admin).json()[
            "key"
        ]
        # the key acts as the admin who made it, but an admin's power needs a password
        assert client.get("/api/admin/users", headers=_bearer(key)).status_code == 403
        assert (
            client.get("/api/auth/me", headers=_bearer(key)).json()["username"]
            == "root"
        )


def test_malformed_and_forged_keys_are_401(settings_for, sample_png: bytes) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        admin = login(client, ADMIN["admin_username"], ADMIN["admin_password"])
        key = client.post(
            "/api/admin/api-keys", json={"name": "k", "scopes": ["read"]}, headers=admin
        ).json()["key"]
        prefix = key.split("_")[1]
        for forged in ("kg_", "kg_nothing", f"kg_{prefix}_wrong", key + "x", "kg__x"):
            response = client.get("/api/predictions", headers=_bearer(forged))
            assert response.status_code == 401, forged
        unknown_scope = client.post(
            "/api/admin/api-keys", json={"name": "k", "scopes": ["all"]}, headers=admin
        )
        assert unknown_scope.status_code == 422
        nobody = client.post(
            "/api/admin/api-keys",
            json={"name": "k", "scopes": ["read"], "username": "ghost"},
            headers=admin,
        )
        assert nobody.status_code == 404
