"""A server killed with SIGKILL in the middle of uploads loses no acknowledged upload, and after
a restart and ``kneegrade-api doctor --fix`` every row has its files and every file its row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest
from api_helpers import UNTHROTTLED
from test_workers import _free_port, _signed_in, _wait_for_health

pytestmark = pytest.mark.slow
CLIENTS = 8


def _start(env: dict, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "kneegrade_api", "--port", str(port)]
    return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)


def test_a_kill_mid_upload_loses_nothing_acknowledged(
    tmp_path, rf_models_dir, sample_png
):
    data = tmp_path / "data"
    env = {
        **os.environ,
        "KNEEGRADE_DATA_DIR": str(data),
        "KNEEGRADE_MODELS_DIR": str(rf_models_dir),
        "KNEEGRADE_LOCALISER_DIR": "",
        **{f"KNEEGRADE_{k.upper()}": v for k, v in UNTHROTTLED.items()},
    }
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start(env, port)
    _wait_for_health(url, server)
    clients = [_signed_in(url, f"ward{i}") for i in range(CLIENTS)]
    acknowledged: list[tuple[int, int]] = []
    killed = threading.Event()

    def upload_until_killed(index: int) -> None:
        files = {"file": ("knee.png", sample_png, "image/png")}
        while not killed.is_set():
            try:
                answer = clients[index].post("/api/predictions", files=files)
            except httpx.HTTPError:
                return
            if answer.status_code == 201:
                acknowledged.append((index, answer.json()["id"]))

    with ThreadPoolExecutor(CLIENTS) as pool:
        running = [pool.submit(upload_until_killed, i) for i in range(CLIENTS)]
        time.sleep(3)
        server.send_signal(signal.SIGKILL)
        server.wait()
        killed.set()
        for future in running:
            future.result()
    assert len(acknowledged) > CLIENTS

    server = _start(env, port)
    try:
        _wait_for_health(url, server)
        for index, client in enumerate(clients):
            history = client.get("/api/predictions", params={"limit": 100}).json()
            kept = {item["id"] for item in history["items"]}
            assert {i for c, i in acknowledged if c == index} <= kept
    finally:
        server.terminate()
        server.wait(timeout=30)
        for client in clients:
            client.close()
    doctor = [sys.executable, "-m", "kneegrade_api", "doctor", "--grace", "0"]
    subprocess.run([*doctor, "--fix"], env=env, check=False, capture_output=True)
    check = subprocess.run(doctor, env=env, check=False, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert "found 0 upload files" in check.stdout
    assert "0 predictions name files that are missing" in check.stdout
