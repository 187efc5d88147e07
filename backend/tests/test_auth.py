"""Register, log in and ask who one is; bad input and bad credentials get clear errors."""

import pytest
from api_helpers import app_state, register
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from kneegrade_api import crud, security


def test_register_returns_the_user_without_the_hash(api: TestClient) -> None:
    response = api.post(
        "/api/auth/register",
        json={"username": "dr.smith", "password": "correct horse", "name": "Dr Smith"},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username", "name", "role", "created_at"}
    assert body["username"] == "dr.smith"
    assert body["role"] == "clinician"
    assert body["created_at"].endswith("Z")


def test_duplicate_username_is_a_conflict(api: TestClient) -> None:
    account = register(api)
    response = api.post(
        "/api/auth/register",
        json={"username": account.username, "password": "another one", "name": "X"},
    )
    assert response.status_code == 409
    assert account.username in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ab", "password": "long enough", "name": "A"}, "username"),
        ({"username": "a" * 51, "password": "long enough", "name": "A"}, "username"),
        ({"username": "bad name!", "password": "long enough", "name": "A"}, "username"),
        ({"username": "okname", "password": "short", "name": "A"}, "password"),
        ({"username": "okname", "password": "long enough", "name": ""}, "name"),
        ({"username": "okname", "password": "long enough", "name": "n" * 101}, "name"),
        ({"username": "okname", "password": "long enough"}, "name"),
        ({"username": "okname", "password": "password123", "name": "A"}, "password"),
        ({"username": "okname", "password": "qwertyuiop", "name": "A"}, "password"),
        ({"username": "drsmith", "password": "drsmith2024", "name": "A"}, "password"),
    ],
)
def test_invalid_registration_is_422_naming_the_field(
    api: TestClient, body: dict, field: str
) -> None:
    response = api.post("/api/auth/register", json=body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}:")
    assert response.json()["errors"][0]["loc"] == ["body", field]


def test_an_easy_password_is_refused_with_advice(api: TestClient) -> None:
    body = {"username": "guessable", "password": "password123", "name": "G"}
    response = api.post("/api/auth/register", json=body)
    assert response.status_code == 422
    assert "too easy to guess" in response.json()["detail"]
    assert "very common password" in response.json()["detail"]
    strong = {**body, "password": "password123 mauve giraffe"}
    assert api.post("/api/auth/register", json=strong).status_code == 201


def test_login_and_me(api: TestClient) -> None:
    account = register(api)
    response = api.get("/api/auth/me", headers=account.headers)
    assert response.status_code == 200
    assert response.json()["username"] == account.username
    assert "password_hash" not in response.json()


def test_login_returns_a_bearer_token(api: TestClient) -> None:
    account = register(api)
    response = api.post(
        "/api/auth/login",
        data={"username": account.username, "password": account.password},
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert response.json()["expires_in"] == 3600


@pytest.mark.parametrize("wrong", ["password", "username"])
def test_wrong_credentials_are_401(api: TestClient, wrong: str) -> None:
    account = register(api)
    form = {"username": account.username, "password": account.password}
    form[wrong] += "-wrong"
    response = api.post("/api/auth/login", data=form)
    assert response.status_code == 401
    assert response.json() == {"detail": "incorrect username or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_login_without_form_fields_is_422(api: TestClient) -> None:
    response = api.post("/api/auth/login", data={"username": "someone"})
    assert response.status_code == 422
    assert "password" in response.json()["detail"]


def test_passwords_are_stored_as_argon2_hashes(api: TestClient) -> None:
    account = register(api)
    with app_state(api).sessions() as session:
        stored = crud.get_user_by_username(session, account.username).password_hash
    assert stored.startswith("$argon2id$")
    assert account.password not in stored
    assert security.verify_password(account.password, stored)
    assert not security.verify_password("something else", stored)
    assert not security.verify_password(account.password, None)


def test_production_hasher_uses_argon2id_defaults() -> None:
    hashed = PasswordHash((Argon2Hasher(),)).hash("a password")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,")
