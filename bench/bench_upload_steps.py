"""Where an upload's time goes, without HTTP: ``grading.grade_upload`` step by step, in one process
with the models `make run` serves, on the 224x224 PNG that bench_serving.py posts.

Each step the upload calls (decoding, the localiser and the grade, the thumbnail, the files, the
database rows, the audit event) is wrapped with a timer; after warm-up, N uploads are graded one
after another into a scratch data folder and the median of each step printed. Then the CPU time
and wall time of the networks alone (``grade_knees``: the localiser and the flip-averaged grade),
which bound what any server can do on this machine. Saves artifacts/bench/upload_steps.json.

Run: `.venv/bin/python bench/bench_upload_steps.py [--uploads 80]`.
"""

import argparse
import functools
import io
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bench_serving import test_image
from PIL import Image
from rich.console import Console
from rich.table import Table

RESULTS = Path("artifacts/bench/upload_steps.json")
console = Console()


def timed_steps(grading, state, served, times: dict[str, list[float]]) -> None:
    """Wrap what ``grade_upload`` calls so each call's wall time lands in ``times``."""

    def wrap(owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                times[label].append(time.perf_counter() - start)

        setattr(owner, name, timed)

    wrap(grading, "decode_upload", "decode, re-encode as PNG")
    wrap(served, "grade", "localise and grade")
    wrap(grading, "thumbnail_png", "thumbnail")
    wrap(state.store, "save", "write the files")
    wrap(grading.crud, "add_predictions", "database rows")
    wrap(grading.audit, "record", "audit event")


def cpu_and_wall_ms(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """Process CPU time and wall time per call, after warm-up."""
    for _ in range(5):
        call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(runs):
        call()
    return (
        1000 * (time.process_time() - cpu) / runs,
        1000 * (time.perf_counter() - wall) / runs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=80)
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--localiser", type=Path, default=Path("localiser"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        result = measure(args, scratch)
    show(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    console.print(f"saved {RESULTS}")


def measure(args: argparse.Namespace, scratch: str) -> dict:
    """Grade ``args.uploads`` uploads into ``scratch``, each step timed; then the networks."""
    os.environ.update(
        KNEEGRADE_DATA_DIR=scratch,
        KNEEGRADE_MODELS_DIR=str(args.models.resolve()),
        KNEEGRADE_LOCALISER_DIR=str(args.localiser.resolve()),
    )
    from kneegrade_api import crud, grading
    from kneegrade_api.audit import Caller
    from kneegrade_api.config import Settings
    from kneegrade_api.schemas import UserCreate
    from kneegrade_api.state import AppState
    from kneegrade_ml.knees import grade_knees

    state = AppState.start(Settings())
    served = state.registry.get(None)
    name, data = test_image()
    times: dict[str, list[float]] = defaultdict(list)
    with state.sessions() as session:
        user = crud.create_user(
            session, UserCreate(username="bench", password="bench-password", name="B")
        )
        caller = Caller(user, None, "127.0.0.1")
        for _ in range(5):
            grading.grade_upload(session, state, caller, served, data, name)
        timed_steps(grading, state, served, times)
        for _ in range(args.uploads):
            start = time.perf_counter()
            grading.grade_upload(session, state, caller, served, data, name)
            times["the whole upload"].append(time.perf_counter() - start)
    image = Image.open(io.BytesIO(data))
    image.load()
    cpu, wall = cpu_and_wall_ms(
        lambda: grade_knees(served.predictor, state.localiser, image, explain=False),
        args.uploads,
    )
    state.close()
    return {
        "image": name,
        "model": served.id,
        "uploads": args.uploads,
        "median_ms": {k: 1000 * statistics.median(v) for k, v in times.items()},
        "networks": {"cpu_ms": cpu, "wall_ms": wall},
    }


def show(result: dict) -> None:
    table = Table(title=f"One upload of {result['image']}, {result['model']}, no HTTP")
    table.add_column("step")
    table.add_column("median ms", justify="right")
    for step, ms in sorted(result["median_ms"].items(), key=lambda kv: -kv[1]):
        table.add_row(step, f"{ms:.2f}")
    console.print(table)
    networks = result["networks"]
    console.print(
        f"Localiser + flip-averaged grade alone: {networks['wall_ms']:.1f} ms, "
        f"{networks['cpu_ms']:.1f} ms of CPU per upload "
        f"(at most {1000 * os.cpu_count() / networks['cpu_ms']:.0f} uploads/s "
        f"on {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
