"""Write the seeded synthetic KL data set: images, labels.csv and a contact sheet.

Every image has its own random stream derived from (seed, split, grade, index), so the output is
byte-identical for a seed whatever the number of worker processes or the order they finish in.
"""

import csv
import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from kneegrade_ml.data.source import DATASET_FILE, synthetic_record
from kneegrade_ml.grades import GRADES
from kneegrade_ml.synth.contact_sheet import write_contact_sheet
from kneegrade_ml.synth.params import KneeParams, sample_params
from kneegrade_ml.synth.render import render_knee

SPLIT_SIZES: dict[str, int] = {"train": 250, "test": 50, "samples": 2}
"""Images per grade in each split (SPEC: 1,510 images in all)."""

_SPLIT_IDS = {"train": 0, "test": 1, "samples": 2}


@dataclass(frozen=True)
class ImageJob:
    """One image to generate: where it goes and what it must show."""

    split: str
    grade: int
    index: int

    @property
    def relpath(self) -> str:
        return (
            f"{self.split}/{self.grade}/{self.split}_{self.grade}_{self.index:04d}.png"
        )


def plan_jobs(split_sizes: dict[str, int]) -> list[ImageJob]:
    """Every image of the set, in a fixed order (split, grade, index)."""
    return [
        ImageJob(split, grade, index)
        for split, per_grade in split_sizes.items()
        for grade in GRADES
        for index in range(per_grade)
    ]


def _job_rng(seed: int, job: ImageJob) -> np.random.Generator:
    entropy = (seed, _SPLIT_IDS.get(job.split, 99), job.grade, job.index)
    return np.random.default_rng(np.random.SeedSequence(entropy))


def _make_image(args: tuple[int, Path, ImageJob]) -> tuple[ImageJob, KneeParams]:
    """Render and save one image; runs in a worker process."""
    seed, out, job = args
    rng = _job_rng(seed, job)
    params = sample_params(job.grade, rng)
    Image.fromarray(render_knee(params, rng)).save(out / job.relpath, optimize=False)
    return job, params


def _run_jobs(
    seed: int, out: Path, jobs: list[ImageJob], workers: int
) -> Iterator[tuple[ImageJob, KneeParams]]:
    tasks = [(seed, out, job) for job in jobs]
    if workers <= 1:
        yield from map(_make_image, tasks)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_make_image, tasks, chunksize=16)


def generate_dataset(
    out: Path | str,
    seed: int = 0,
    split_sizes: dict[str, int] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> list[dict[str, object]]:
    """Write the synthetic set under ``out`` and return the rows written to labels.csv."""
    out = Path(out)
    sizes = SPLIT_SIZES if split_sizes is None else split_sizes
    jobs = plan_jobs(sizes)
    for split in sizes:
        for grade in GRADES:
            (out / split / str(grade)).mkdir(parents=True, exist_ok=True)
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    rows = []
    results = _run_jobs(seed, out, jobs, workers)
    for job, params in tqdm(
        results, total=len(jobs), desc="synth", disable=not progress
    ):
        rows.append({"path": job.relpath, "split": job.split, **params.as_row()})
    _write_labels(out / "labels.csv", rows)
    (out / DATASET_FILE).write_text(json.dumps(synthetic_record(seed), indent=2))
    write_contact_sheet(out, rows, out / "contact_sheet.png")
    return rows


def _write_labels(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
