"""Multi-view test-time augmentation: does grading zoomed and shifted copies of each crop, beside
the flip pair the model already averages, raise accuracy or QWK?

Every image of a labelled split (by default chen2018 val, 826 knee crops) is graded whole, as
``kneegrade evaluate --whole-image`` and the server grade a crop, once per view: the crop as it is,
zoomed in or out about its centre, or shifted by a few pixels (bilinear, the uncovered border
filled with the crop's median grey). Each view's grade is the model's own, flip-averaged and
calibrated; a set of views is scored by the mean of their probabilities and its argmax, so
nothing is fitted on the split. A set of N views costs 2N forward passes a grade against the
flip pair's 2.

Run: `.venv/bin/python bench/bench_views.py` (`--model DIR`, `--limit 100` for a quick run).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from bench_shift import labelled_split
from PIL import Image
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from kneegrade_ml.evaluation.metrics import compute_metrics
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.runtime import configure_cpu

RESULTS = Path("artifacts/bench/views.json")
ORIGINAL = "original"
VIEWS: dict[str, tuple[float, int, int]] = {
    ORIGINAL: (1.0, 0, 0),
    "zoom in 5%": (1 / 0.95, 0, 0),
    "zoom in 10%": (1 / 0.9, 0, 0),
    "zoom out 10%": (1 / 1.1, 0, 0),
    "right 8 px": (1.0, 8, 0),
    "left 8 px": (1.0, -8, 0),
    "down 8 px": (1.0, 0, 8),
    "up 8 px": (1.0, 0, -8),
}
"""Each view as (magnification about the centre, shift right, shift down) in the crop's pixels."""

console = Console(width=130)


def view(
    image: Image.Image, magnification: float, right: int, down: int
) -> Image.Image:
    """``image`` magnified about its centre and moved; what comes into the frame is median grey."""
    cx, cy = image.width / 2, image.height / 2
    inverse = 1 / magnification  # PIL maps each output pixel back to the input
    coefficients = (
        inverse,
        0,
        cx - inverse * cx - right,
        0,
        inverse,
        cy - inverse * cy - down,
    )
    fill = int(np.median(np.asarray(image)))
    return image.transform(
        image.size, Image.AFFINE, coefficients, resample=Image.BILINEAR, fillcolor=fill
    )


def view_sets(names: list[str]) -> dict[str, list[str]]:
    """The sets scored: the crop alone, with each other view, with all zooms, all shifts, all."""
    others = [n for n in names if n != ORIGINAL]
    zooms = [n for n in others if n.startswith("zoom")]
    shifts = [n for n in others if not n.startswith("zoom")]
    sets = {ORIGINAL: [ORIGINAL]} | {f"+ {n}": [ORIGINAL, n] for n in others}
    for label, group in (("+ every zoom", zooms), ("+ every shift", shifts)):
        if len(group) > 1:
            sets[label] = [ORIGINAL, *group]
    if len(zooms) and len(shifts):
        sets["all views"] = [ORIGINAL, *others]
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data/knee-kl-chen2018/val")
    )
    parser.add_argument(
        "--model", type=Path, default=Path("models/efficientnet-lite2-chen2018")
    )
    parser.add_argument(
        "--views",
        nargs="+",
        choices=list(VIEWS),
        default=list(VIEWS),
        help="which views",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="N images, evenly spread over the split"
    )
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not args.data.is_dir():
        console.print(f"[red]no data at {args.data}: give --data a labelled split[/]")
        return 2
    configure_cpu()
    _, images, grades = labelled_split(args.data, args.limit)
    predictor = Predictor(args.model, engine="onnx")
    names = [ORIGINAL, *(n for n in args.views if n != ORIGINAL)]
    probabilities = {
        n: predictor.predict_proba([view(im, *VIEWS[n]) for im in images])
        for n in tqdm(names, desc="views")
    }
    results = {
        label: compute_metrics(
            grades, np.mean([probabilities[n] for n in views], axis=0)
        )
        | {"views": views}
        for label, views in view_sets(names).items()
    }
    where = f"{args.data.parent.name}/{args.data.name}"
    console.print(
        table(
            results,
            f"{args.model} ({predictor.precision}) on {where}, n={len(grades)}",
        )
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "data": str(args.data),
                "n": len(grades),
                "model": str(args.model),
                "version": predictor.card.get("version"),
                "precision": predictor.precision,
                "results": {
                    label: {
                        k: r[k]
                        for k in ("views", "accuracy", "qwk", "f1_macro", "mae", "ece")
                    }
                    | {"recall_kl1": r["per_class"]["1"]["recall"]}
                    for label, r in results.items()
                },
            },
            indent=2,
        )
    )
    console.print(f"Wrote {args.json}")
    return 0


def table(results: dict[str, dict], title: str) -> Table:
    """One row per set of views, with its cost and its change against the crop alone."""
    result = Table(title=title)
    for column in ("views", "passes", "accuracy", "QWK", "macro-F1", "KL1 recall", "MAE",
                   "ECE", "Δacc", "ΔQWK"):  # fmt: skip
        result.add_column(column, justify="right")
    base = results[ORIGINAL]
    for label, r in results.items():
        result.add_row(
            label,
            str(2 * len(r["views"])),
            f"{r['accuracy']:.1%}",
            f"{r['qwk']:.3f}",
            f"{r['f1_macro']:.3f}",
            f"{r['per_class']['1']['recall']:.1%}",
            f"{r['mae']:.3f}",
            f"{r['ece']:.3f}",
            f"{100 * (r['accuracy'] - base['accuracy']):+.1f}",
            f"{r['qwk'] - base['qwk']:+.3f}",
            end_section=label == ORIGINAL,
        )
    return result


if __name__ == "__main__":
    sys.exit(main())
