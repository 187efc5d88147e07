"""Ensembles and ordinal decoding of trained graders, measured on a labelled split.

Each model directory grades every image of the split (by default chen2018 val, 826 centred knee
crops, graded whole as ``kneegrade evaluate --whole-image`` grades them, with each model's own
flip averaging and temperature); the ensemble averages their calibrated probabilities. Each
model and the ensemble are scored four times: by the argmax, by the two ordinal decodings,
the expected grade rounded (``expected_grades``) and the median grade (``median_grades``), and
by cut points on the expected grade fitted to maximise QWK, cross-fitted over five folds of the
split (``cross_fitted_threshold_grades``: no image is decoded by cut points fitted
on it). Nothing else is fitted on the split: no weights. Prints a table (accuracy, QWK,
macro-F1, KL 1 recall, MAE, ECE) and, for several models, how often their argmax grades agree
and how many images none of them grades right (``member_agreement``: what no vote among them
can fix, and how many of those their mean still gets right), and saves JSON.

Run: `.venv/bin/python bench/bench_ensemble.py --model models/efficientnet-lite2-chen2018 DIR ...`.
"""

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.evaluation.agreement import member_agreement
from kneegrade_ml.evaluation.metrics import (
    compute_metrics,
    expected_grades,
    median_grades,
)
from kneegrade_ml.evaluation.thresholds import cross_fitted_threshold_grades
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.runtime import configure_cpu

RESULTS = Path("artifacts/bench/ensemble.json")
DECODINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "argmax": lambda probabilities: probabilities.argmax(axis=1),
    "expected grade": expected_grades,
    "median grade": median_grades,
}


def member_probabilities(model: Path, data: Path) -> tuple[np.ndarray, float]:
    """The model's probabilities on every image of ``data``, and the seconds it took."""
    predictor = Predictor(model)
    samples = scan_split(data)
    pixels, _ = load_pixels(samples, predictor.classifier.spec, progress=True)
    start = time.perf_counter()
    probabilities = predictor.classifier.predict_pixels(pixels)
    return probabilities, time.perf_counter() - start


def scores(grades: np.ndarray, probabilities: np.ndarray) -> dict[str, dict]:
    """The metrics under each decoding."""
    decoded = {name: decode(probabilities) for name, decode in DECODINGS.items()}
    decoded["fitted cuts, 5-fold"] = cross_fitted_threshold_grades(
        probabilities, grades
    )
    return {
        name: compute_metrics(grades, probabilities, grades_decoded)
        for name, grades_decoded in decoded.items()
    }


def show_agreement(console: Console, agreement: dict, images: int) -> None:
    """The members' argmax agreement in two lines, under the table."""
    agreed = agreement["accuracy_where_all_agree"]
    console.print(
        f"all {agreement['members']} members agree on {agreement['all_agree']:.1%} of the "
        f"images" + (f", {agreed:.1%} of those rightly" if agreed is not None else "")
    )
    console.print(
        f"none grades {agreement['all_wrong']} of {images} right (by true grade "
        f"{agreement['all_wrong_by_grade']}), so a vote among them is right on at most "
        f"{agreement['any_right']:.1%}; their mean's argmax gets "
        f"{agreement['ensemble_right_where_all_wrong']} of those right"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, nargs="+", required=True)
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data/knee-kl-chen2018/val")
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no labelled split at {args.data}: pass --data", file=sys.stderr)
        return 2
    configure_cpu()
    console = Console(width=130)
    grades = np.array([s.grade for s in scan_split(args.data)])
    members = {}
    for model in args.model:
        probabilities, seconds = member_probabilities(model, args.data)
        members[str(model)] = probabilities
        console.print(f"{model}: {seconds:.1f} s for {len(grades)} images")
    rows = {name: scores(grades, p) for name, p in members.items()}
    agreement = None
    if len(members) > 1:
        ensemble = np.mean(list(members.values()), axis=0)
        rows[f"ensemble of {len(members)}"] = scores(grades, ensemble)
        argmax = DECODINGS["argmax"]
        member_grades = np.stack([argmax(p) for p in members.values()])
        agreement = member_agreement(grades, member_grades, argmax(ensemble))
    table = Table(title=f"{args.data} ({len(grades)} images, graded whole)")
    for column in ("model", "decoding", "accuracy", "QWK", "macro-F1", "KL 1 recall"):
        table.add_column(column, justify="right" if column != "model" else "left")
    for column in ("MAE", "ECE"):
        table.add_column(column, justify="right")
    for name, by_decoding in rows.items():
        for decoding, m in by_decoding.items():
            table.add_row(
                name,
                decoding,
                f"{m['accuracy']:.1%}",
                f"{m['qwk']:.3f}",
                f"{m['f1_macro']:.1%}",
                f"{m['per_class']['1']['recall']:.1%}",
                f"{m['mae']:.3f}",
                f"{m['ece']:.3f}",
            )
    console.print(table)
    if agreement is not None:
        show_agreement(console, agreement, len(grades))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"data": str(args.data), "results": rows, "agreement": agreement}, indent=2
        )
    )
    console.print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
