"""Several server processes on one data folder: they start together and serve the same data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from api_helpers import UNTHROTTLED

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_workers_start_together_on_a_fresh_data_folder(tmp_path, rf_models_dir):
    port = _free_port()
    env = {
        **os.environ,
        "KNEEGRADE_DATA_DIR": str(tmp_path / "data"),
        "KNEEGRADE_MODELS_DIR": str(rf_models_dir),
        "KNEEGRADE_LOCALISER_DIR": "",
        "KNEEGRADE_WORKERS": "2",
        **{f"KNEEGRADE_{k.upper()}": v for k, v in UNTHROTTLED.items()},
    }
    command = [sys.executable, "-m", "kneegrade_api", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        health = _wait_for_health(url, server)
        assert health["status"] == "ok"
        workers = (
            Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        )
        assert len(workers) >= 2
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            account = {"username": "two", "password": "two-workers", "name": "Two"}
            assert client.post("/api/auth/register", json=account).status_code == 201
            form = {"username": "two", "password": "two-workers"}
            answers = [client.post("/api/auth/login", data=form) for _ in range(6)]
        assert {a.status_code for a in answers} == {200}
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "Traceback" not in errors, errors
    assert len((tmp_path / "data" / "secret_key").read_text().strip()) > 40


def _wait_for_health(url: str, server: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        try:
            return httpx.get(f"{url}/api/health", timeout=2, trust_env=False).json()
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError("the server did not answer within 120 s")
