"""What one large upload costs the server's memory, and how much of it comes back afterwards.

An in-process app (the released model, the localiser, a scratch data folder) takes a 7000x7000
PNG knee (a val crop, or a rendered synthetic knee, scaled up), then its heatmap and report, twice.
Resident memory (VmRSS) is read before, and after each round, with the idle hook that trims the
heap (``concurrency.WorkSlots``, ``runtime.release_free_memory``) and without it, alternating.
Prints a table; the peak is the process's maximum over the whole run.

Run: `.venv/bin/python bench/bench_large_upload.py`.
"""

import io
import resource
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "backend" / "tests"))

from api_helpers import UNTHROTTLED, app_state, register
from bench_serving import test_image

from kneegrade_api.config import Settings
from kneegrade_api.main import create_app

SIDE = 7000
ROUNDS = 2


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def large_png() -> bytes:
    _, data = test_image()
    knee = (
        Image.open(io.BytesIO(data)).convert("L").resize((SIDE, SIDE), Image.BILINEAR)
    )
    out = io.BytesIO()
    knee.save(out, "PNG")
    return out.getvalue()


def main() -> None:
    console = Console()
    data = large_png()
    scratch = Path(tempfile.mkdtemp())
    settings = Settings(
        data_dir=scratch / "data",
        models_dir=[BENCH.parent / "models"],
        localiser_dir=BENCH.parent / "localiser",
        frontend_dir=scratch / "none",
        **UNTHROTTLED,
    )
    table = Table(
        title=f"A {SIDE}x{SIDE} PNG ({len(data) / 2**20:.1f} MiB): upload, heatmap, report"
    )
    for column in ("idle hook", "round", "RSS before MiB", "RSS after MiB", "kept MiB"):
        table.add_column(column, justify="right")
    with TestClient(create_app(settings)) as client:
        user = register(client)
        slots = app_state(client).slots
        trim = slots._on_idle
        for round_ in range(ROUNDS):
            for name, hook in (("trim", trim), ("none", lambda: None)):
                slots._on_idle = hook
                slots._idle_hook_at = float("-inf")
                trim()
                before = rss_mib()
                files = {"file": ("large.png", data, "image/png")}
                made = client.post(
                    "/api/predictions", headers=user.headers, files=files
                )
                made.raise_for_status()
                for part in ("heatmap", "report"):
                    url = f"/api/predictions/{made.json()['id']}/{part}"
                    client.get(url, headers=user.headers).raise_for_status()
                after = rss_mib()
                table.add_row(
                    name,
                    str(round_ + 1),
                    f"{before:.0f}",
                    f"{after:.0f}",
                    f"{after - before:+.0f}",
                )
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak RSS over the run: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
