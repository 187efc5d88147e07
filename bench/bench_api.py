"""Time the REST API end to end: one prediction's latency, and throughput with concurrent clients.

Starts the real server (uvicorn, a free port on 127.0.0.1, a scratch data folder, the models in
artifacts/models), registers and logs in, then posts one 224x224 PNG to MobileNetV2: N requests one
after another (p50/p95 latency), then M requests from C concurrent clients (requests per second).
Prints a table, saves artifacts/bench/api.json and always stops the server.

Run: `.venv/bin/python bench/bench_api.py` (`--requests 5 --total 16` for a quick smoke run).
"""

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

MODELS = Path("artifacts/models")
SAMPLES = Path("artifacts/synthetic/samples")
RESULTS = Path("artifacts/bench/api.json")
MODEL = "mobilenetv2"
HOST = "127.0.0.1"

console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_image() -> tuple[str, bytes]:
    """A 224x224 knee PNG: a shipped sample when there is one, else one freshly rendered."""
    samples = sorted(SAMPLES.glob("2/*.png"))
    if samples:
        return samples[0].name, samples[0].read_bytes()
    from kneegrade_ml.synth.params import sample_params
    from kneegrade_ml.synth.render import render_knee

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(render_knee(sample_params(2, rng), rng)).save(buffer, format="PNG")
    return "rendered_grade_2.png", buffer.getvalue()


@contextmanager
def running_server(data_dir: Path, models: Path) -> Iterator[str]:
    """Uvicorn in a subprocess on a free port; stopped on exit, whatever happened."""
    port = free_port()
    env = {
        **os.environ,
        "KNEEGRADE_DATA_DIR": str(data_dir),
        "KNEEGRADE_MODELS_DIR": str(models.resolve()),
        "KNEEGRADE_SAMPLES_DIR": str(SAMPLES.resolve()),
    }
    log_path = data_dir / "server.log"
    command = [sys.executable, "-m", "uvicorn", "kneegrade_api.main:app"]
    command += ["--host", HOST, "--port", str(port), "--log-level", "warning"]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://{HOST}:{port}"
    try:
        wait_until_up(server, url, log_path)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def local_client(
    url: str, headers: dict | None = None, timeout: float = 60
) -> httpx.Client:
    """A client that talks to the local server directly, ignoring any proxy settings."""
    return httpx.Client(base_url=url, headers=headers, timeout=timeout, trust_env=False)


def wait_until_up(server: subprocess.Popen, url: str, log_path: Path) -> None:
    """Poll /api/health until the default model is served; fail with the server's log."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited early:\n{log_path.read_text()}")
        try:
            with local_client(url, timeout=2) as client:
                health = client.get("/api/health").json()
        except httpx.HTTPError:
            time.sleep(0.25)
            continue
        if health["models"].get(MODEL) != "loaded":
            raise SystemExit(f"{MODEL} is not served: {health['models'].get(MODEL)}")
        return
    raise SystemExit(f"the server did not answer within 120 s:\n{log_path.read_text()}")


def authenticate(url: str) -> dict[str, str]:
    """Register a throwaway user and return its bearer header."""
    account = {"username": "bench", "password": "bench-password", "name": "Benchmark"}
    form = {"username": account["username"], "password": account["password"]}
    with local_client(url) as client:
        client.post("/api/auth/register", json=account).raise_for_status()
        token = client.post("/api/auth/login", data=form).raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def predict(client: httpx.Client, name: str, image: bytes) -> float:
    """Seconds for one graded upload."""
    start = time.perf_counter()
    response = client.post(
        "/api/predictions",
        files={"file": (name, image, "image/png")},
        data={"model": MODEL},
    )
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def sequential(url: str, headers: dict, name: str, image: bytes, n: int) -> list[float]:
    with local_client(url, headers) as client:
        for _ in range(3):  # warm-up: first calls pay for lazy initialisation
            predict(client, name, image)
        return [predict(client, name, image) for _ in range(n)]


def concurrent(
    url: str, headers: dict, name: str, image: bytes, clients: int, total: int
) -> tuple[float, list[float]]:
    """Wall seconds for ``total`` uploads spread over ``clients`` threads, and each latency."""
    share = [total // clients + (i < total % clients) for i in range(clients)]

    def worker(count: int) -> list[float]:
        with local_client(url, headers, timeout=120) as client:
            return [predict(client, name, image) for _ in range(count)]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = [t for batch in pool.map(worker, share) for t in batch]
    return time.perf_counter() - start, latencies


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=50, help="sequential predictions"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument(
        "--total", type=int, default=80, help="predictions across the clients"
    )
    parser.add_argument("--models", type=Path, default=MODELS, help="the models folder")
    args = parser.parse_args()
    card = args.models / MODEL / "model.json"
    if not card.is_file():
        raise SystemExit(
            f"{card} is missing: build the models first (`make pipeline`, or `make run` once)."
        )
    name, image = test_image()
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_server(Path(scratch), args.models) as url,
    ):
        headers = authenticate(url)
        latencies = sequential(url, headers, name, image, args.requests)
        wall, loaded = concurrent(url, headers, name, image, args.clients, args.total)
    result = {
        "model": MODEL,
        "image": name,
        "cores": os.cpu_count(),
        "sequential": {
            "requests": len(latencies),
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * percentile(latencies, 95),
            "mean_ms": 1000 * statistics.fmean(latencies),
        },
        "concurrent": {
            "clients": args.clients,
            "requests": len(loaded),
            "seconds": wall,
            "requests_per_second": len(loaded) / wall,
            "p50_ms": 1000 * statistics.median(loaded),
            "p95_ms": 1000 * percentile(loaded, 95),
        },
    }
    show(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    console.print(f"saved {RESULTS}")


def show(result: dict) -> None:
    seq, conc = result["sequential"], result["concurrent"]
    table = Table(title=f"KneeGrade API, {result['model']}, {result['cores']} cores")
    for column in ("run", "requests", "p50 ms", "p95 ms", "requests/s"):
        table.add_column(column, justify="right")
    table.add_row(
        "1 client",
        str(seq["requests"]),
        f"{seq['p50_ms']:.1f}",
        f"{seq['p95_ms']:.1f}",
        f"{1000 / seq['mean_ms']:.1f}",
    )
    table.add_row(
        f"{conc['clients']} clients",
        str(conc["requests"]),
        f"{conc['p50_ms']:.1f}",
        f"{conc['p95_ms']:.1f}",
        f"{conc['requests_per_second']:.1f}",
    )
    console.print(table)


if __name__ == "__main__":
    main()
