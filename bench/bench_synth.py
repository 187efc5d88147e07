"""Time generating the full synthetic set (1,510 images), one process against all cores.

Run: `make bench` (or `.venv/bin/python bench/bench_synth.py`). Prints a table and saves
artifacts/bench/synth.json.
"""

import json
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kneegrade_ml.synth.dataset import SPLIT_SIZES, generate_dataset, plan_jobs

RESULTS = Path("artifacts/bench/synth.json")


def time_generation(workers: int) -> float:
    """Seconds to write the whole set with ``workers`` processes, into a scratch folder."""
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        generate_dataset(scratch, seed=0, workers=workers, progress=False)
        return time.perf_counter() - start


def main() -> None:
    images = len(plan_jobs(SPLIT_SIZES))
    cores = os.cpu_count() or 1
    timings = {workers: time_generation(workers) for workers in sorted({1, cores})}
    table = Table(title=f"kneegrade synth: {images} images, seed 0, {cores} cores")
    for column in ("processes", "seconds", "images/s", "speed-up"):
        table.add_column(column, justify="right")
    for workers, seconds in timings.items():
        speedup = timings[1] / seconds
        table.add_row(
            str(workers), f"{seconds:.1f}", f"{images / seconds:.0f}", f"{speedup:.2f}x"
        )
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"images": images, "cores": cores, "seconds": timings}, indent=2)
    )


if __name__ == "__main__":
    main()
