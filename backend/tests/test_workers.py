"""Several server processes on one data folder: they start together and serve the same data,
under 16 concurrent clients uploading 25 images each."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from api_helpers import UNTHROTTLED, fresh_database

pytestmark = pytest.mark.slow
CLIENTS, UPLOADS = 16, 25


@pytest.fixture
def two_workers(tmp_path, rf_models_dir) -> Iterator[str]:
    """``kneegrade-api`` with ``KNEEGRADE_WORKERS=2`` on a fresh data folder (the RF only)."""
    env = {
        **os.environ,
        "KNEEGRADE_DATA_DIR": str(tmp_path / "data"),
        "KNEEGRADE_MODELS_DIR": str(rf_models_dir),
        "KNEEGRADE_LOCALISER_DIR": "",
        "KNEEGRADE_WORKERS": "2",
        **{f"KNEEGRADE_{k.upper()}": v for k, v in UNTHROTTLED.items()},
    }
    database = fresh_database()
    if database is not None:  # the same test on the server database CI gives
        env["KNEEGRADE_DATABASE_URL"] = database
    port = _free_port()
    command = [sys.executable, "-m", "kneegrade_api", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        assert _wait_for_health(url, server)["status"] == "ok"
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        assert (
            len(children.read_text().split()) >= 2
        )  # the workers (and spawn's tracker)
        yield url
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
        print(errors)  # the workers' log, shown with a failure: restarts, stalls
    assert "Traceback" not in errors, errors


def test_two_workers_start_together_and_share_one_truth(
    two_workers, tmp_path, sample_png
):
    clients = [_signed_in(two_workers, f"clinic{i}") for i in range(CLIENTS)]

    def uploads(client: httpx.Client) -> list[int]:
        files = {"file": ("knee.png", sample_png, "image/png")}
        return [
            client.post("/api/predictions", files=files).status_code
            for _ in range(UPLOADS)
        ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [s for batch in pool.map(uploads, clients) for s in batch]
    assert statuses.count(201) == CLIENTS * UPLOADS
    for client in clients:
        history = client.get("/api/predictions", params={"limit": 100}).json()
        assert history["total"] == UPLOADS
        for item in history["items"][:5]:  # each answered by either worker
            assert client.get(item["image_url"]).status_code == 200
        gone = history["items"][0]["id"]
        assert client.delete(f"/api/predictions/{gone}").status_code == 204
        answers = [client.get(f"/api/predictions/{gone}") for _ in range(4)]
        assert {a.status_code for a in answers} == {404}
        client.close()
    files = [p for p in (tmp_path / "data" / "uploads").rglob("*") if p.is_file()]
    assert len(files) == CLIENTS * UPLOADS * 2  # an image and a thumbnail each, kept
    # for the audit trail after a delete, until purged
    assert len((tmp_path / "data" / "secret_key").read_text().strip()) > 40


def _signed_in(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, trust_env=False, timeout=60)
    password = f"{username}-secret"
    account = {"username": username, "password": password, "name": username}
    assert client.post("/api/auth/register", json=account).status_code == 201
    form = {"username": username, "password": password}
    token = client.post("/api/auth/login", data=form).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_health(url: str, server: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        try:
            return httpx.get(f"{url}/api/health", timeout=2, trust_env=False).json()
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError("the server did not answer within 120 s")
