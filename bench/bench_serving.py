"""Serving speed, KneeGrade against a naive Flask baseline, both started here and measured in one
run, alternating round by round.

KneeGrade (uvicorn, the models `make run` serves, the localiser, a scratch data folder) takes
`POST /api/predictions` with a bearer token; the baseline (`bench/flask_baseline.py`) takes
`POST /predict`. Both get the same 224x224 PNG (a real val crop when ../shared has one, else a
rendered synthetic knee). Per round and server: N sequential requests from one client (p50/p95),
then throughput with 1, 8 and 32 concurrent clients, and the server's CPU time per request at 8
clients (on 2 cores, what bounds throughput); errors are counted, never retried. Then
KneeGrade's heatmap (`GET .../heatmap` for a new upload) and both servers' memory (peak RSS, all
processes). Prints a table with the ratios and saves artifacts/bench/serving.json.

Run: `.venv/bin/python bench/bench_serving.py` (`--rounds 1 --requests 20` for a quick one;
`--workers 2` for two uvicorn workers).
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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

HOST = "127.0.0.1"
REAL_VAL = Path("../shared/data/knee-kl-chen2018/val")
RESULTS = Path("artifacts/bench/serving.json")
CLIENTS = (1, 8, 32)
BENCH = Path(__file__).resolve().parent

console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_image() -> tuple[str, bytes]:
    """A 224x224 knee PNG: a real val crop when there is one, else a rendered synthetic knee."""
    real = sorted(REAL_VAL.glob("2/*.png"))
    if real:
        return real[0].name, real[0].read_bytes()
    from kneegrade_ml.synth.params import sample_params
    from kneegrade_ml.synth.render import render_knee

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(render_knee(sample_params(2, rng), rng)).save(buffer, format="PNG")
    return "rendered_grade_2.png", buffer.getvalue()


def client(url: str, headers: dict | None = None, timeout: float = 120) -> httpx.Client:
    """Straight to the local server, whatever the proxy settings say."""
    return httpx.Client(base_url=url, headers=headers, timeout=timeout, trust_env=False)


@dataclass
class Server:
    """A server under test: how to post one image to it, and its process for memory."""

    name: str
    url: str
    path: str
    process: subprocess.Popen
    headers: dict = field(default_factory=dict)
    form: dict = field(default_factory=dict)

    def post(self, http: httpx.Client, name: str, image: bytes) -> httpx.Response:
        files = {"file": (name, image, "image/png")}
        return http.post(self.path, files=files, data=self.form)

    def pids(self) -> list[int]:
        """The server and its children (uvicorn workers)."""
        return [self.process.pid, *_children(self.process.pid)]

    def peak_rss_mib(self) -> float:
        """Peak resident memory of the server and its children, MiB."""
        return sum(_status_kib(pid, "VmHWM") for pid in self.pids()) / 1024

    def cpu_seconds(self) -> float:
        """CPU time the server and its children have used so far (user + system)."""
        return sum(_cpu_seconds(pid) for pid in self.pids())


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.is_file() else []


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@contextmanager
def started(command: list[str], env: dict, log_path: Path, ready: Callable[[], bool]):
    """A subprocess, up once ``ready()``; stopped on exit, whatever happened."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 180
        while not _ready(ready):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"{command[:4]} did not start:\n{log_path.read_text()}"
                )
            time.sleep(0.25)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except httpx.HTTPError:
        return False


@contextmanager
def kneegrade(scratch: Path, args: argparse.Namespace) -> Iterator[Server]:
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = {
        **os.environ,
        "KNEEGRADE_DATA_DIR": str(scratch / "kneegrade"),
        "KNEEGRADE_MODELS_DIR": str(args.models.resolve()),
        "KNEEGRADE_LOCALISER_DIR": str(args.localiser.resolve()),
        "KNEEGRADE_ENGINE": args.engine,
        "KNEEGRADE_LOGIN_RATE_LIMIT": "1000/minute",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "kneegrade_api.main:app",
        "--host",
        HOST,
    ]
    command += [
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(args.workers),
    ]

    def up() -> bool:
        with client(url, timeout=2) as http:
            return http.get("/api/health").json()["status"] == "ok"

    with started(command, env, scratch / "kneegrade.log", up) as process:
        server = Server("KneeGrade", url, "/api/predictions", process)
        server.headers = authenticate(url)
        if args.model:
            server.form = {"model": args.model}
        yield server


@contextmanager
def baseline(scratch: Path) -> Iterator[Server]:
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [sys.executable, str(BENCH / "flask_baseline.py"), "--port", str(port)]
    command += ["--data", str(scratch / "baseline")]

    def up() -> bool:
        with client(url, timeout=2) as http:
            return http.get("/health").status_code == 200

    with started(command, dict(os.environ), scratch / "baseline.log", up) as process:
        yield Server("Flask baseline", url, "/predict", process)


def authenticate(url: str) -> dict[str, str]:
    """Register a throwaway user and return its bearer header."""
    account = {"username": "bench", "password": "bench-password", "name": "Benchmark"}
    form = {"username": account["username"], "password": account["password"]}
    with client(url) as http:
        http.post("/api/auth/register", json=account).raise_for_status()
        token = http.post("/api/auth/login", data=form).raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@dataclass
class Figures:
    """Everything measured on one server, over all rounds."""

    latencies: list[float] = field(default_factory=list)
    throughput: dict[int, list[float]] = field(default_factory=dict)
    cpu_ms: list[float] = field(default_factory=list)
    """Server CPU time per request under load (8 clients): what bounds throughput."""
    errors: dict[int, int] = field(default_factory=dict)


def timed_posts(
    server: Server, image: tuple[str, bytes], count: int
) -> tuple[list[float], int]:
    """Seconds per upload, one after another on one connection, and the failures."""
    times, errors = [], 0
    with client(server.url, server.headers) as http:
        for _ in range(count):
            start = time.perf_counter()
            response = server.post(http, *image)
            times.append(time.perf_counter() - start)
            errors += response.status_code >= 400
    return times, errors


def load(
    server: Server, image: tuple[str, bytes], clients: int, total: int
) -> tuple[float, int]:
    """Requests per second with ``clients`` concurrent clients sharing ``total`` uploads."""
    share = [total // clients + (i < total % clients) for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda n: timed_posts(server, image, n), share))
    wall = time.perf_counter() - start
    return total / wall, sum(errors for _, errors in results)


def measure(server: Server, image, args: argparse.Namespace, figures: Figures) -> None:
    timed_posts(server, image, 3)  # warm-up: lazy initialisation, connection set-up
    latencies, errors = timed_posts(server, image, args.requests)
    figures.latencies += latencies
    figures.errors[0] = figures.errors.get(0, 0) + errors
    for clients in CLIENTS:
        total = max(args.requests, 2 * clients)
        cpu_before = server.cpu_seconds()
        rate, errors = load(server, image, clients, total)
        if clients == 8:
            figures.cpu_ms.append(1000 * (server.cpu_seconds() - cpu_before) / total)
        figures.throughput.setdefault(clients, []).append(rate)
        figures.errors[clients] = figures.errors.get(clients, 0) + errors


def heatmap_ms(server: Server, image: tuple[str, bytes], count: int = 5) -> float:
    """Median time of an upload followed at once by a request for its heatmap."""
    times = []
    with client(server.url, server.headers) as http:
        for _ in range(count):
            start = time.perf_counter()
            answer = server.post(http, *image).json()
            http.get(answer["heatmap_url"]).raise_for_status()
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def summary(figures: Figures) -> dict:
    return {
        "p50_ms": 1000 * statistics.median(figures.latencies),
        "p95_ms": 1000 * float(np.percentile(figures.latencies, 95)),
        "requests_per_second": {
            c: statistics.median(r) for c, r in figures.throughput.items()
        },
        "cpu_ms_per_request": statistics.median(figures.cpu_ms),
        "errors": figures.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--requests", type=int, default=40, help="sequential, per round"
    )
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument(
        "--model", default=None, help="model id (default: the server's)"
    )
    parser.add_argument("--localiser", type=Path, default=Path("localiser"))
    parser.add_argument("--engine", choices=("onnx", "torch"), default="onnx")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    image = test_image()
    measured = {"KneeGrade": Figures(), "Flask baseline": Figures()}
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        with baseline(scratch) as flask_server, kneegrade(scratch, args) as product:
            servers = [flask_server, product]
            for round_ in range(args.rounds):
                for server in servers if round_ % 2 == 0 else servers[::-1]:
                    console.print(f"round {round_ + 1}/{args.rounds}: {server.name}")
                    measure(server, image, args, measured[server.name])
            result = {
                "image": image[0],
                "cores": os.cpu_count(),
                "rounds": args.rounds,
                "engine": args.engine,
                "workers": args.workers,
                "servers": {name: summary(f) for name, f in measured.items()},
                "heatmap_after_upload_ms": heatmap_ms(product, image),
                "peak_rss_mib": {s.name: s.peak_rss_mib() for s in servers},
            }
    show(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    console.print(f"saved {RESULTS}")


def show(result: dict) -> None:
    product, naive = result["servers"]["KneeGrade"], result["servers"]["Flask baseline"]
    title = f"{result['image']}, {result['cores']} cores, {result['rounds']} rounds"
    table = Table(title=f"Serving speed: {title}")
    for column in ("server", "p50 ms", "p95 ms", *(f"req/s, {c} clients" for c in CLIENTS),
                   "CPU ms/req", "errors", "peak RSS MiB"):  # fmt: skip
        table.add_column(column, justify="right")
    for name, figures in result["servers"].items():
        table.add_row(
            name,
            f"{figures['p50_ms']:.1f}",
            f"{figures['p95_ms']:.1f}",
            *(f"{figures['requests_per_second'][c]:.1f}" for c in CLIENTS),
            f"{figures['cpu_ms_per_request']:.1f}",
            str(sum(figures["errors"].values())),
            f"{result['peak_rss_mib'][name]:.0f}",
        )
    table.add_row(
        "KneeGrade / baseline",
        f"{product['p50_ms'] / naive['p50_ms']:.2f}x",
        f"{product['p95_ms'] / naive['p95_ms']:.2f}x",
        *(
            f"{product['requests_per_second'][c] / naive['requests_per_second'][c]:.2f}x"
            for c in CLIENTS
        ),
        f"{product['cpu_ms_per_request'] / naive['cpu_ms_per_request']:.2f}x",
        "",
        "",
    )
    console.print(table)
    console.print(
        f"KneeGrade upload then its heatmap: {result['heatmap_after_upload_ms']:.0f} ms (median)"
    )


if __name__ == "__main__":
    main()
