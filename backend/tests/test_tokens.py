"""Only valid, unexpired tokens of existing users get in; everything else is a 401."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import Account, app_state, register
from fastapi.testclient import TestClient
from sqlalchemy import delete

from kneegrade_api.models import User
from kneegrade_api.security import create_access_token


def _me(api: TestClient, token: str):
    return api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


def _assert_401(response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"]


def test_no_token_is_401(api: TestClient) -> None:
    _assert_401(api.get("/api/auth/me"))
    _assert_401(api.get("/api/predictions"))


def test_expired_token_is_401(api: TestClient, user: Account) -> None:
    key = app_state(api).secret_key
    issued = datetime.now(UTC) - timedelta(hours=2)
    response = _me(api, create_access_token(user.id, key, minutes=60, now=issued))
    _assert_401(response)
    assert "expired" in response.json()["detail"]


def test_token_signed_with_another_key_is_401(api: TestClient, user: Account) -> None:
    _assert_401(_me(api, create_access_token(user.id, "not-the-server-key", 60)))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "Bearer"])
def test_malformed_token_is_401(api: TestClient, token: str) -> None:
    _assert_401(_me(api, token))


def test_unsigned_token_is_401(api: TestClient, user: Account) -> None:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    expires = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    token = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': str(user.id), 'exp': expires})}."
    _assert_401(_me(api, token))


def test_token_of_a_deleted_user_is_401(api: TestClient) -> None:
    account = register(api)
    with app_state(api).sessions() as session:
        session.execute(delete(User).where(User.id == account.id))
        session.commit()
    response = api.get("/api/auth/me", headers=account.headers)
    _assert_401(response)
    assert "no longer exists" in response.json()["detail"]
