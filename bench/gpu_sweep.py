"""Several ``kneegrade train`` runs side by side on one borrowed GPU machine, from a packed copy
of a real data set small enough to send there (README, "Real radiographs"; docs/results).

  python bench/gpu_sweep.py pack --data ../shared/data/knee-kl-chen2018 --out .gpu
  # on the GPU machine, with the repository's ml/ on PYTHONPATH:
  python bench/gpu_sweep.py unpack --pack .gpu --out /tmp/chen2018-webp
  python bench/gpu_sweep.py run --data /tmp/chen2018-webp --jobs d0 d1 c0 --keep d0 \
      --teachers .gpu/teaching.json --deadline 420 --out $OUT

``pack`` stores train as lossy WebP (``--quality``, 88 by default: a 224 px crop in about 4.4
KB against 21.6 KB of PNG) and the held-out split losslessly, so the cards' metrics and
calibration are those of the real images. ``unpack`` writes them back as PNG under their own
names, so a teaching (``kneegrade teach``) made on the originals applies. ``run`` starts each job
on its own cores with ``--device cuda``, stops those still running at the deadline, and leaves in
``--out`` the whole model directory of each ``--keep`` job (a tar in parts) and every job's card and
log (``cards.tar``), within what a device call brings back.
"""

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from PIL import Image
from rich.console import Console
from rich.table import Table

from kneegrade_ml.data.folders import IMAGE_SUFFIXES, SPLITS
from kneegrade_ml.data.images import read_image
from kneegrade_ml.data.source import DATASET_FILE, SOURCE_FILE
from kneegrade_ml.evaluation.compare import COLUMNS, Result, scored_on, table_rows
from kneegrade_ml.evaluation.display import labelled_table

LITE0_256 = [
    "--model", "efficientnet-lite0", "--recipe", "real", "--augment", "scanner",
    "--input-size", "256",
]  # fmt: skip
"""The 1.3.0 release's recipe (README, "Real radiographs")."""

LITE2 = ["--model", "efficientnet-lite2", "--recipe", "real", "--augment", "scanner"]
"""The Lite2 rows' recipe: 1.2.0's with Lite2 (README, "Real radiographs")."""

LITE2_224 = [*LITE2, "--input-size", "224"]
"""The 1.4.0 release's recipe, and 1.5.0's with a teaching (Lite2's own size is 260 px)."""

TEACHING = "TEACHING"
"""Stands for ``--teachers``' file in a job's arguments."""

JOBS = {
    **{f"d{s}": [*LITE0_256, "--seed", str(s), "--teachers", TEACHING] for s in range(3)},
    **{f"c{s}": [*LITE0_256, "--seed", str(s)] for s in range(3)},
    "d0e12": [*LITE0_256, "--seed", "0", "--teachers", TEACHING, "--epochs", "12"],
    "d0w8": [*LITE0_256, "--seed", "0", "--teachers", TEACHING, "--distill-weight", "0.8"],
    **{f"l2-s{s}": [*LITE2_224, "--seed", str(s)] for s in range(5)},
    **{f"l2r{px}-s{s}": [*LITE2, "--input-size", str(px), "--seed", str(s)]
       for px in (208, 260) for s in range(3)},
    **{f"l2d-s{s}": [*LITE2_224, "--seed", str(s), "--teachers", TEACHING] for s in range(5)},
}  # fmt: skip
"""d: 1.3.0's recipe distilled from the teaching; c: the same without it (the control);
then one longer run and one leaning more on the teachers. l2: Lite2 at 224 px, and below and at
its own 260 px (l2r208, l2r260); l2d: Lite2 at 224 px distilled from the teaching."""

PART_BYTES = 15 * 2**20
"""A kept model comes back in parts of this size: a call brings back files of 16 MiB at most."""


def _copy_description(source: Path, target: Path) -> None:
    """The file that says what the data set is (its SOURCE.md, or a synthetic set's JSON)."""
    for described in (SOURCE_FILE, DATASET_FILE):
        if (source / described).is_file():
            shutil.copy(source / described, target / described)


def pack(args: argparse.Namespace) -> None:
    """train/ as lossy WebP and the held-out splits lossless, a .tar.gz per split (gzip takes
    out the tar headers' padding), with the file
    that says what the data set is."""
    args.out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        folder = args.data / split
        if not folder.is_dir():
            continue
        options = {"quality": args.quality} if split == "train" else {"lossless": True}
        with tarfile.open(args.out / f"{split}.tar.gz", "w:gz") as archive:
            for path in sorted(folder.glob("*/*")):
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                buffer = io.BytesIO()
                read_image(path).save(buffer, format="WEBP", method=6, **options)
                entry = tarfile.TarInfo(f"{path.parent.name}/{path.name}")
                entry.size = buffer.tell()
                buffer.seek(0)
                archive.addfile(entry, buffer)
        size = (args.out / f"{split}.tar.gz").stat().st_size / 2**20
        print(f"{split}: {size:.1f} MiB")
    _copy_description(args.data, args.out)


def unpack(args: argparse.Namespace) -> None:
    """Each split's images back as PNG, under their own grade folders and names."""
    for archive_path in sorted(args.pack.glob("*.tar.gz")):
        split = args.out / archive_path.name.removesuffix(".tar.gz")
        with tarfile.open(archive_path) as archive:
            for entry in archive:
                target = split / entry.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with Image.open(archive.extractfile(entry)) as image:
                    image.convert("L").save(target.with_suffix(".png"))
        print(f"{split}: {sum(1 for _ in split.glob('*/*'))} images")
    _copy_description(args.pack, args.out)


def _start(name: str, args: argparse.Namespace, cores: set[int]) -> subprocess.Popen:
    """``kneegrade train`` for job ``name`` on ``cores``, its output in WORK/name.log."""
    job = [str(args.teachers) if a == TEACHING else a for a in JOBS[name]]
    command = [sys.executable, "-m", "kneegrade_ml.cli", "train", *job]
    command += ["--data", str(args.data), "--out", str(args.work / name)]
    command += ["--device", args.device]
    every = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)  # the child inherits it
    try:
        log_path = args.work / f"{name}.log"
        with log_path.open("w") as log:  # the child keeps its own copy of the file
            return subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "OMP_NUM_THREADS": str(len(cores))},
            )
    finally:
        os.sched_setaffinity(0, every)


def _keep(model: Path, out: Path) -> None:
    """The model directory as a tar in parts (``NAME.tar.00``, ``.01``...): ``cat NAME.tar.* | tar x``
    puts it back together (the shell's sorted glob is the parts' order)."""
    whole = model.parent / f"{model.name}.tar"
    with tarfile.open(whole, "w") as archive:
        archive.add(model, arcname=model.name)
    with whole.open("rb") as source:
        for part, chunk in enumerate(iter(lambda: source.read(PART_BYTES), b"")):
            (out / f"{model.name}.tar.{part:02d}").write_bytes(chunk)
    whole.unlink()


def _summary(args: argparse.Namespace) -> Table:
    """The finished jobs' cards as ``kneegrade compare`` reads them, seeds of a recipe summarised."""
    finished = [n for n in args.jobs if (args.work / n / "model.json").is_file()]
    results = [Result.from_directory(args.work / n, n) for n in finished]
    table = labelled_table(
        f"Finished jobs on {args.device}, {scored_on(results)}", COLUMNS
    )
    for row in table_rows(results):
        table.add_row(*row)
    return table


def run(args: argparse.Namespace) -> None:
    """Every job at once, each on its share of the cores; then what comes back, into ``--out``."""
    unknown = set(args.jobs) - set(JOBS)
    if unknown:
        raise SystemExit(f"unknown jobs {sorted(unknown)}; known: {', '.join(JOBS)}")
    args.work.mkdir(parents=True, exist_ok=True)
    cores = sorted(os.sched_getaffinity(0))
    share = max(1, len(cores) // len(args.jobs))
    start = time.perf_counter()
    running = {
        name: _start(name, args, set(cores[i * share : (i + 1) * share] or cores))
        for i, name in enumerate(args.jobs)
    }
    while running:
        time.sleep(5)
        late = time.perf_counter() - start > args.deadline
        for name, process in list(running.items()):
            if process.poll() is None and late:
                process.kill()
                process.wait()
            if process.poll() is not None:
                seconds = time.perf_counter() - start
                print(f"{name}: exit {process.returncode} after {seconds:.0f} s")
                del running[name]
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.keep:
        if (args.work / name / "model.json").is_file():
            _keep(args.work / name, args.out)
    with tarfile.open(args.out / "cards.tar", "w") as archive:
        for path in sorted(args.work.glob("*.log")) + sorted(
            args.work.glob("*/model.json")
        ):
            archive.add(path, arcname=str(path.relative_to(args.work)))
    Console(width=160).print(_summary(args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="a data set, small enough to send")
    packing.add_argument("--data", type=Path, required=True)
    packing.add_argument("--out", type=Path, required=True)
    packing.add_argument("--quality", type=int, default=88, help="train's WebP quality")
    unpacking = commands.add_parser("unpack", help="a pack back into a data set folder")
    unpacking.add_argument("--pack", type=Path, required=True)
    unpacking.add_argument("--out", type=Path, required=True)
    running = commands.add_parser("run", help="train jobs side by side")
    running.add_argument("--data", type=Path, required=True)
    running.add_argument("--jobs", nargs="+", default=list(JOBS))
    running.add_argument(
        "--keep", nargs="*", default=[], help="jobs whose weights return"
    )
    running.add_argument("--teachers", type=Path, help="a kneegrade teach file")
    running.add_argument("--deadline", type=float, default=420, help="seconds")
    running.add_argument("--device", default="cuda")
    running.add_argument("--work", type=Path, default=Path("/tmp/gpu-sweep"))
    running.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    {"pack": pack, "unpack": unpack, "run": run}[args.command](args)


if __name__ == "__main__":
    main()
