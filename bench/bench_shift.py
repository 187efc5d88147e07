"""Scanner-shift benchmark: how a grader holds up on radiographs as another hospital makes them.

Every image of a labelled split (by default chen2018 val, 826 knee crops) is graded as it is
(``original``) and after each scanner shift of ``kneegrade_ml.evaluation.shift``: another
exposure curve, blur, lower resolution, detector noise, windowing, CLAHE, unsharp masking, JPEG
export, a collimation border, and ``scanner``, a random mix of them per image. The shifts are
seeded per image (seed and file name), so the shifted copy of the split is the same on every
run; ``--write DIR`` saves it as graded folders for ``kneegrade evaluate``, outside the repository
(never commit radiographs).

Images are graded whole, as ``kneegrade evaluate --whole-image`` grades them: these are crops
centred on one knee already, so the localiser is left out (its own response to the shift is not
measured here). The metrics are ``compute_metrics``'s; per kind and model: accuracy, QWK,
macro-F1, KL 1 recall, MAE, ECE and the change against the original images.

Run: `.venv/bin/python bench/bench_shift.py` (`--model A B` compares models on the same shifted
images; `--limit 100 --kinds original scanner` for a quick run).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from kneegrade_ml.data.folders import Sample, scan_split
from kneegrade_ml.data.images import read_image
from kneegrade_ml.evaluation.metrics import compute_metrics
from kneegrade_ml.evaluation.shift import KINDS, shift_image
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.runtime import configure_cpu

ORIGINAL = "original"
CHOICES = (ORIGINAL, *KINDS)
RESULTS = Path("artifacts/bench/shift.json")

console = Console(width=130)


def labelled_split(
    data: Path, limit: int | None
) -> tuple[list[Sample], list[Image.Image], np.ndarray]:
    """The split's samples, images and grades: all of them, or ``limit`` spread evenly over
    the split so that every grade stays."""
    samples = scan_split(data)
    if limit:
        samples = [
            samples[i] for i in np.linspace(0, len(samples) - 1, limit).astype(int)
        ]
    return (
        samples,
        [read_image(s.path) for s in samples],
        np.array([s.grade for s in samples]),
    )


def shifted_split(
    images: list[np.ndarray], samples: list[Sample], kind: str, seed: int
) -> list[np.ndarray]:
    """The split's images after ``kind`` (unchanged for ``original``), keyed by file name."""
    if kind == ORIGINAL:
        return images
    return [
        shift_image(image, kind, seed, sample.path.name)
        for image, sample in tqdm(
            zip(images, samples, strict=True), total=len(images), desc=kind, leave=False
        )
    ]


def grade(predictor: Predictor, images: list[np.ndarray]) -> np.ndarray:
    """Probabilities (N, 5), the images resized and graded as ``kneegrade evaluate`` does."""
    return predictor.predict_proba([Image.fromarray(image) for image in images])


def summary(metrics: dict, reference: dict | None) -> dict:
    """The figures the table shows, and their change against ``reference`` (the originals)."""
    row = {
        "accuracy": metrics["accuracy"],
        "qwk": metrics["qwk"],
        "f1_macro": metrics["f1_macro"],
        "recall_kl1": metrics["per_class"]["1"]["recall"],
        "mae": metrics["mae"],
        "ece": metrics["ece"],
    }
    if reference is not None:
        row["delta_accuracy"] = row["accuracy"] - reference["accuracy"]
        row["delta_qwk"] = row["qwk"] - reference["qwk"]
        row["qwk_kept"] = row["qwk"] / reference["qwk"] if reference["qwk"] else None
    return row


def write_split(out: Path, kind: str, images, samples: list[Sample]) -> None:
    for image, sample in zip(images, samples, strict=True):
        folder = out / kind / str(sample.grade)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / sample.path.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data/knee-kl-chen2018/val")
    )
    parser.add_argument(
        "--model",
        type=Path,
        nargs="+",
        default=[Path("models/efficientnet-lite2-chen2018")],
        help="one or more model directories, graded on the same shifted images",
    )
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=CHOICES,
        default=list(CHOICES),
        help="which shifts",
    )
    parser.add_argument("--seed", type=int, default=0, help="the shifted copy's seed")
    parser.add_argument(
        "--limit", type=int, default=None, help="N images, evenly spread over the split"
    )
    parser.add_argument("--write", type=Path, default=None, help="save shifted splits")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument(
        "--plot", type=Path, default=None, help="QWK per shift (default: beside --json)"
    )
    args = parser.parse_args()
    if not args.data.is_dir():
        console.print(f"[red]no data at {args.data}: give --data a labelled split[/]")
        return 2
    configure_cpu()
    samples, originals, grades = labelled_split(args.data, args.limit)
    images = [np.asarray(image) for image in originals]
    predictors = {_name(path): Predictor(path, engine="onnx") for path in args.model}
    kinds = [ORIGINAL, *(k for k in args.kinds if k != ORIGINAL)]  # in the order given
    results: dict[str, dict[str, dict]] = {name: {} for name in predictors}
    seconds: dict[str, float] = {}
    record = {
        "data": str(args.data),
        "n": len(samples),
        "seed": args.seed,
        "graded": "whole images (crops), as kneegrade evaluate --whole-image",
        "models": {name: str(p.directory) for name, p in predictors.items()},
        "results": results,
        "seconds": seconds,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    for kind in tqdm(kinds, desc="shifts"):
        start = time.perf_counter()
        shifted = shifted_split(images, samples, kind, args.seed)
        if args.write and kind != ORIGINAL:
            write_split(args.write, kind, shifted, samples)
        for name, predictor in predictors.items():
            metrics = compute_metrics(grades, grade(predictor, shifted))
            results[name][kind] = summary(metrics, results[name].get(ORIGINAL))
        seconds[kind] = time.perf_counter() - start
        args.json.write_text(json.dumps(record, indent=2))  # kept as each shift is done
    for name, rows in results.items():
        console.print(table(name, rows, args))
    if len(results) > 1:
        console.print(comparison(results))
    plot = args.plot or args.json.with_suffix(".png")
    where = f"{args.data.parent.name}/{args.data.name}"
    plot_qwk(results, plot, f"{where} (n={len(samples)}, seed {args.seed})")
    console.print(f"Wrote {args.json} and {plot}")
    return 0


def _name(path: Path) -> str:
    """A short label for a model directory: its name, with its parent's when that helps."""
    return (
        path.name
        if path.parent.name in ("", "models", ".")
        else f"{path.parent.name}/{path.name}"
    )


def table(name: str, rows: dict[str, dict], args: argparse.Namespace) -> Table:
    result = Table(
        title=f"{name} on {args.data} under scanner shifts (seed {args.seed})"
    )
    for column in ("shift", "accuracy", "QWK", "macro-F1", "KL1 recall", "MAE", "ECE",
                   "Δacc", "ΔQWK", "QWK kept"):  # fmt: skip
        result.add_column(column, justify="right")
    for kind, r in rows.items():
        deltas = (
            ("", "", "")
            if kind == ORIGINAL
            else (
                f"{100 * r['delta_accuracy']:+.1f}",
                f"{r['delta_qwk']:+.3f}",
                "-" if r["qwk_kept"] is None else f"{r['qwk_kept']:.0%}",
            )
        )
        result.add_row(
            kind,
            f"{r['accuracy']:.1%}",
            f"{r['qwk']:.3f}",
            f"{r['f1_macro']:.3f}",
            f"{r['recall_kl1']:.1%}",
            f"{r['mae']:.3f}",
            f"{r['ece']:.3f}",
            *deltas,
            end_section=kind == ORIGINAL,
            style="bold" if kind in (ORIGINAL, "scanner") else None,
        )
    return result


def comparison(results: dict[str, dict[str, dict]]) -> Table:
    """QWK per shift, one column per model: which holds up best."""
    result = Table(title="QWK per shift, side by side")
    result.add_column("shift")
    for name in results:
        result.add_column(name, justify="right")
    for kind in next(iter(results.values())):
        result.add_row(kind, *(f"{rows[kind]['qwk']:.3f}" for rows in results.values()))
    return result


def plot_qwk(results: dict[str, dict[str, dict]], path: Path, title: str) -> None:
    kinds = list(next(iter(results.values())))
    width = 0.8 / len(results)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 + 0.9 * len(kinds)), 4))
    for i, (name, rows) in enumerate(results.items()):
        x = np.arange(len(kinds)) + (i - (len(results) - 1) / 2) * width
        ax.bar(x, [rows[k]["qwk"] for k in kinds], width, label=name)
    ax.set_xticks(np.arange(len(kinds)), kinds, rotation=30, ha="right")
    ax.set_ylabel("QWK")
    ax.set_ylim(0, 1)
    ax.set_title(f"QWK under scanner shifts, {title}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
