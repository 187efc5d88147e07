"""A learning curve: how one recipe's held-out figures grow with its training images, fitted as a
line in log2(images) and extended to the targets.

Each MODEL_DIR is one run of the recipe on a share of the train split's patients (`kneegrade
train --train-fold K/N` or `--held-out-fold K/N`) or on all of them; its card gives the images it
trained on and its scores on the held-out split. Every run is one point of the least-squares fit.
Where the line reaches a target is an extrapolation past the data there is, printed with the range
that the slope's standard error gives, and charted.

Run: `.venv/bin/python bench/learning_curve.py DIR ... [--unfitted DIR ...] --chart PNG`.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from rich.console import Console
from scipy.stats import linregress

from kneegrade_ml.bundle import read_card
from kneegrade_ml.evaluation.display import labelled_table

RESULTS = Path("artifacts/bench/learning_curve.json")
TARGETS = {"accuracy": 0.70, "qwk": 0.86}  # issue #15's, on the validation split


def run_point(directory: Path, fitted: bool) -> dict:
    """One run's training images and held-out scores."""
    card = read_card(directory)
    return {
        "directory": str(directory),
        "fitted": fitted,
        "images": sum(card["training"]["counts"]["train"].values()),
        "split": card["metrics"]["split"],
        **{name: card["metrics"][name] for name in TARGETS},
    }


def fit(points: list[dict], metric: str) -> dict:
    """The line through (log2 images, score), and the images where it and its slope +- one
    standard error reach the target (None where that slope never gets there)."""
    used = [p for p in points if p["fitted"]]
    x = np.log2([p["images"] for p in used])
    y = np.array([p[metric] for p in used])
    line = linregress(x, y)
    target = TARGETS[metric]

    def reaches(slope: float) -> float | None:
        if slope <= 0:
            return None
        centre_x, centre_y = x.mean(), y.mean()
        return float(2 ** (centre_x + (target - centre_y) / slope))

    return {
        "target": target,
        "per_doubling": float(line.slope),
        "per_doubling_se": float(line.stderr),
        "intercept": float(line.intercept),
        "r": float(line.rvalue),
        "reaches_at": reaches(line.slope),
        "reaches_range": [
            reaches(line.slope + line.stderr),
            reaches(line.slope - line.stderr),
        ],
    }


def times(images: float | None, whole: int) -> str:
    """A number of images, and how many times ``whole`` it is."""
    return "never" if images is None else f"{images:,.0f} ({images / whole:.1f}x)"


def chart(points: list[dict], fits: dict, path: Path) -> None:
    """Each run (hollow: not fitted), the fitted line carried on to the target, and the
    target, per metric."""
    fig = Figure(figsize=(10, 4.2), dpi=120, layout="tight")
    FigureCanvasAgg(fig)
    images = np.array([p["images"] for p in points])
    for axis, (metric, line) in zip(fig.subplots(1, 2), fits.items(), strict=True):
        end = line["reaches_at"] or images.max() * 4
        xs = np.geomspace(images.min(), max(end, images.max()) * 1.2, 50)
        fitted_line = line["intercept"] + line["per_doubling"] * np.log2(xs)
        axis.plot(xs, fitted_line, "--", label="fitted line, extended")
        for fitted, face, label in (
            (True, "black", "run"),
            (False, "none", "not fitted"),
        ):
            shown = [p for p in points if p["fitted"] == fitted]
            axis.scatter(
                [p["images"] for p in shown],
                [p[metric] for p in shown],
                facecolors=face,
                edgecolors="black",
                zorder=3,
                label=label,
            )
        axis.axhline(line["target"], color="tab:red", lw=1, label="target")
        axis.axvline(images.max(), color="grey", lw=0.8, ls=":")
        axis.set_xscale("log", base=2)
        axis.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        axis.set_xlabel("training images (log scale); dotted: the whole train split")
        axis.set_ylabel(f"val {'QWK' if metric == 'qwk' else metric}")
        axis.legend(loc="lower right", fontsize="small")
        axis.set_title(
            f"{line['per_doubling']:+.3f} ± {line['per_doubling_se']:.3f} per doubling"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")


def print_tables(points: list[dict], fits: dict) -> None:
    """The runs, then each metric's line and where it reaches the target."""
    console = Console(width=110)
    whole = points[-1]["images"]
    table = labelled_table(
        f"Runs, scored on {points[0]['split']}",
        ("run", "images", "share", "fitted", "accuracy", "QWK"),
    )
    for p in points:
        table.add_row(
            Path(p["directory"]).name,
            str(p["images"]),
            f"{p['images'] / whole:.2f}",
            "yes" if p["fitted"] else "no",
            f"{100 * p['accuracy']:.1f}",
            f"{p['qwk']:.3f}",
        )
    console.print(table)
    table = labelled_table(
        "Fitted on log2(images); where it reaches the target",
        ("metric", "per doubling", "r", "target", "at images", "range"),
    )
    for metric, line in fits.items():
        table.add_row(
            metric,
            f"{line['per_doubling']:+.4f} ± {line['per_doubling_se']:.4f}",
            f"{line['r']:.2f}",
            f"{line['target']:.2f}",
            times(line["reaches_at"], whole),
            " to ".join(times(n, whole) for n in line["reaches_range"]),
        )
    console.print(table)
    console.print(f"(x: against the {whole:,} images of the largest run)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL_DIR")
    parser.add_argument(
        "--unfitted",
        nargs="+",
        type=Path,
        default=[],
        metavar="MODEL_DIR",
        help="runs shown in the table and chart but left out of the fit",
    )
    parser.add_argument("--chart", type=Path, help="also save the curves as a PNG")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    points = sorted(
        [run_point(d, fitted=True) for d in args.models]
        + [run_point(d, fitted=False) for d in args.unfitted],
        key=lambda p: p["images"],
    )
    if len({p["split"] for p in points}) > 1 or len(args.models) < 3:
        print(
            "need three or more fitted runs, all scored on one split", file=sys.stderr
        )
        return 2
    fits = {metric: fit(points, metric) for metric in TARGETS}
    print_tables(points, fits)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": points, "fits": fits}, indent=2) + "\n")
    if args.chart:
        chart(points, fits, args.chart)
        print(f"chart: {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
