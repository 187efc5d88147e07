"""The admin role is enforced: the first admin comes from the settings, only admins manage
accounts, and self-registration can be closed."""

import pytest
from api_helpers import login, register
from fastapi.testclient import TestClient

from kneegrade_api.main import create_app

ADMIN = {"admin_username": "root", "admin_password": "root-Sup3r-secret!"}
ADMIN_ROUTES = [
    ("GET", "/api/admin/users"),
    ("POST", "/api/admin/users"),
    ("GET", "/api/admin/api-keys"),
    ("POST", "/api/admin/api-keys"),
    ("DELETE", "/api/admin/api-keys/1"),
    ("GET", "/api/admin/audit"),
    ("POST", "/api/admin/predictions/1/restore"),
]


def _admin(client: TestClient) -> dict[str, str]:
    return login(client, ADMIN["admin_username"], ADMIN["admin_password"])


def test_first_admin_is_made_from_the_settings(settings_for) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        me = client.get("/api/auth/me", headers=_admin(client)).json()
    assert (me["username"], me["role"]) == ("root", "admin")


def test_an_existing_account_named_in_the_settings_is_promoted(settings_for) -> None:
    settings = settings_for()
    with TestClient(create_app(settings)) as client:
        account = register(client, "chief")
    promoted = type(settings)(
        **{
            **settings.model_dump(),
            "admin_username": "Chief",
            "admin_password": ADMIN["admin_password"],
        }
    )
    with TestClient(create_app(promoted)) as client:
        headers = login(client, "chief", account.password)  # the password is kept
        assert client.get("/api/auth/me", headers=headers).json()["role"] == "admin"


def test_a_weak_first_admin_password_stops_the_start(settings_for) -> None:
    settings = settings_for(admin_username="root", admin_password="password")
    with (
        pytest.raises(RuntimeError, match="KNEEGRADE_ADMIN"),
        TestClient(create_app(settings)),
    ):
        pass


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_clinicians_cannot_administer(settings_for, method: str, path: str) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        clinician = register(client)
        response = client.request(method, path, headers=clinician.headers, json={})
        assert response.status_code == 403
        assert "administrator" in response.json()["detail"]
        assert client.request(method, path, json={}).status_code == 401


def test_closed_registration_leaves_account_making_to_admins(settings_for) -> None:
    with TestClient(
        create_app(settings_for(registration_open=False, **ADMIN))
    ) as client:
        account = {
            "username": "newdoc",
            "name": "New Doc",
            "password": "tibia-Plateau-42",
        }
        refused = client.post("/api/auth/register", json=account)
        assert refused.status_code == 403
        assert "closed" in refused.json()["detail"]
        made = client.post("/api/admin/users", json=account, headers=_admin(client))
        assert made.status_code == 201, made.text
        assert made.json()["role"] == "clinician"
        assert (
            client.post("/api/admin/users", json=account, headers=_admin(client))
        ).status_code == 409
        headers = login(client, "newdoc", account["password"])
        assert client.get("/api/auth/me", headers=headers).status_code == 200
        users = client.get("/api/admin/users", headers=_admin(client)).json()
        assert [u["username"] for u in users] == ["root", "newdoc"]
