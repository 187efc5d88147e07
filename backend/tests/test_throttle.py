"""Guessing passwords or making accounts in bulk costs time: 429 with Retry-After."""

from api_helpers import register
from fastapi.testclient import TestClient
from httpx2 import Response

from kneegrade_api.main import create_app


def _login(client: TestClient, username: str, password: str) -> Response:
    form = {"username": username, "password": password}
    return client.post("/api/auth/login", data=form)


def test_wrong_passwords_lock_the_account_for_a_while(settings_for) -> None:
    settings = settings_for(failed_login_limit="3/15 minutes")
    with TestClient(create_app(settings)) as client:
        account = register(client, "guessed")
        statuses = [_login(client, "guessed", "wrong").status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        locked = _login(client, "GUESSED", account.password)
        assert locked.status_code == 429
        assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
        assert "too many wrong passwords" in locked.json()["detail"]
        assert _login(client, "someone.else", "wrong").status_code == 401


def test_logins_and_registrations_are_limited_per_address(settings_for) -> None:
    settings = settings_for(login_rate_limit="4/minute", register_rate_limit="2/hour")
    with TestClient(create_app(settings)) as client:
        account = register(client, "first")  # one registration, one login
        register(client, "second")
        third = client.post(
            "/api/auth/register",
            json={"username": "third", "password": "long enough", "name": "T"},
        )
        assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
        assert _login(client, "first", account.password).status_code == 200
        assert _login(client, "first", account.password).status_code == 200
        over = _login(client, "first", account.password)
        assert over.status_code == 429
        assert "too many login attempts" in over.json()["detail"]
