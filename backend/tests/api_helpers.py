"""Helpers the API tests share: accounts, uploads and a look at what the app stored."""

from __future__ import annotations

import io
import itertools
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from httpx2 import Response
from PIL import Image
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset

from kneegrade_api.state import AppState

SERVER_DATABASE = os.environ.get("KNEEGRADE_TEST_DATABASE")
"""A database server's URL (``.ci/run`` gives a throwaway PostgreSQL's); read at import, before
conftest's autouse fixture clears KNEEGRADE_* variables. When set, every app the tests build gets a fresh
database of its own on that server instead of its own SQLite file."""


def fresh_database() -> str | None:
    """A new, empty database on ``SERVER_DATABASE``, or None (SQLite) when it is unset."""
    if SERVER_DATABASE is None:
        return None
    from sqlalchemy import create_engine, make_url, text

    name = f"kneegrade_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(SERVER_DATABASE, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return (
        make_url(SERVER_DATABASE)
        .set(database=name)
        .render_as_string(hide_password=False)
    )


UNTHROTTLED = {
    "login_rate_limit": "100000/minute",
    "register_rate_limit": "100000/minute",
    "failed_login_limit": "100000/minute",
}
"""The tests make many accounts from one address; ``test_throttle.py`` tests the limits."""


def app_state(client: TestClient) -> AppState:
    return client.app.state.kneegrade


@dataclass(frozen=True)
class Account:
    """A registered, logged-in user and the headers that authenticate as them."""

    id: int
    username: str
    password: str
    headers: dict[str, str]


_usernames = itertools.count(1)


def register(client: TestClient, username: str | None = None) -> Account:
    """Register and log in a user with a unique name."""
    username = username or f"user{next(_usernames)}"
    password = f"{username}-secret"
    created = client.post(
        "/api/auth/register",
        json={"username": username, "password": password, "name": username.title()},
    )
    assert created.status_code == 201, created.text
    return Account(
        created.json()["id"], username, password, login(client, username, password)
    )


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post(
        "/api/auth/login", data={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def upload(
    client: TestClient,
    account: Account,
    data: bytes,
    model: str | None = None,
    filename: str = "knee.png",
) -> Response:
    """POST /api/predictions with ``data`` as the file (and ``model`` when given)."""
    return client.post(
        "/api/predictions",
        headers=account.headers,
        files={"file": (filename, data, "application/octet-stream")},
        data={"model": model} if model else {},
    )


def stored_files(client: TestClient, account: Account) -> list[Path]:
    """Every file kept under the user's upload folder."""
    folder = app_state(client).settings.uploads_dir / str(account.id)
    return sorted(folder.iterdir()) if folder.exists() else []


PATIENT = {
    "PatientName": "Doe^Jane",
    "PatientID": "KNEE-0042",
    "PatientBirthDate": "19600917",
}
"""Identifiers a test DICOM carries, which the app must never store."""


def dicom_bytes(
    pixels: np.ndarray,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    **attributes: object,
) -> bytes:
    """A DX DICOM file (uncompressed, with patient details and ``attributes``) holding 16-bit
    ``pixels``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = uid.DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = uid.generate_uid()
    meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    for keyword, value in {**PATIENT, **attributes}.items():
        setattr(ds, keyword, value)
    ds.set_pixel_data(pixels.astype(np.uint16), photometric, bits_stored)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def knee_dicom(
    png: bytes, photometric: str = "MONOCHROME2", **attributes: object
) -> bytes:
    """A PNG knee as a 12-bit DICOM, stored inverted when ``photometric`` is MONOCHROME1."""
    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.uint16) * 16
    if photometric == "MONOCHROME1":
        pixels = 4095 - pixels
    return dicom_bytes(pixels, photometric, **attributes)
