"""Abuse from outside: out-of-range numbers, forged token claims, look-alike usernames,
passwords with spaces, and the headers every answer carries."""

import pytest
from api_helpers import Account, app_state, login, register, stored_files, upload
from fastapi.testclient import TestClient
from jose import jwt

from kneegrade_api.security import ALGORITHM


@pytest.mark.parametrize(
    "url",
    [
        "/api/predictions/9223372036854775808",
        "/api/predictions/2147483648",
        "/api/predictions/0",
        "/api/predictions/2147483648/report",
        "/api/predictions?offset=9223372036854775808",
        "/api/predictions?offset=2147483648",
    ],
)
def test_numbers_beyond_the_database_range_are_422_not_500(
    api: TestClient, user: Account, url: str
) -> None:
    response = api.get(url, headers=user.headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "1"},  # no expiry
        {"sub": "9223372036854775808", "exp": 4102444800},
        {"sub": "-1", "exp": 4102444800},
    ],
)
def test_validly_signed_tokens_without_expiry_or_with_impossible_ids_are_401(
    api: TestClient, claims: dict
) -> None:
    token = jwt.encode(claims, app_state(api).secret_key, algorithm=ALGORITHM)
    response = api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_usernames_are_case_insensitive(api: TestClient) -> None:
    account = register(api, "Dr.Mixed")
    assert api.get("/api/auth/me", headers=account.headers).json()["username"] == (
        "dr.mixed"
    )
    assert login(api, "DR.MIXED", account.password)
    again = api.post(
        "/api/auth/register",
        json={"username": "dr.MIXED", "password": "another secret", "name": "X"},
    )
    assert again.status_code == 409


def test_a_password_is_taken_exactly_as_typed(api: TestClient) -> None:
    password = "  correct horse battery  "
    created = api.post(
        "/api/auth/register",
        json={"username": "spacious", "password": password, "name": "  Dr Space  "},
    )
    assert created.status_code == 201 and created.json()["name"] == "Dr Space"
    assert login(api, "spacious", password)
    wrong = api.post(
        "/api/auth/login",
        data={"username": "spacious", "password": password.strip()},
    )
    assert wrong.status_code == 401


def test_answers_carry_security_headers_and_patient_data_is_never_cached(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    made = upload(api, user, sample_png, "rf").json()
    for url in ("/api/health", made["image_url"], "/api/predictions/2147483648"):
        response = api.get(url, headers=user.headers)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert "server" not in response.headers


def test_a_retried_upload_with_the_same_idempotency_key_is_graded_and_kept_once(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    def send(key: str):
        return api.post(
            "/api/predictions",
            headers={**user.headers, "Idempotency-Key": key},
            files={"file": ("knee.png", sample_png, "image/png")},
            data={"model": "rf"},
        )

    first, again = send("upload-7f3a"), send("upload-7f3a")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other = send("upload-8b21")
    assert other.json()["id"] != first.json()["id"]
    history = api.get("/api/predictions", headers=user.headers).json()
    assert history["total"] == 2
    assert len(stored_files(api, user)) == 2 * 2  # an image and a thumbnail each
    someone = register(api)
    theirs = api.post(
        "/api/predictions",
        headers={**someone.headers, "Idempotency-Key": "upload-7f3a"},
        files={"file": ("knee.png", sample_png, "image/png")},
        data={"model": "rf"},
    )
    assert theirs.json()["id"] != first.json()["id"]  # keys are per user
