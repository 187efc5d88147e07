"""What a heatmap adds to a prediction: ``predict`` alone against ``predict`` + ``explain`` + PNG.

For each model kind, on one rendered 224x224 knee: the median of N runs after warm-up, the two
kinds of run interleaved so background load hits both alike, plus the first (cold) ``explain``;
the one-off import of Grad-CAM is timed apart. Models come from ``--models`` (default
artifacts/models); a kind missing there is stood in for by a tiny one trained here (same
architecture, random MobileNetV2 trunk: the timings do not depend on the weights).
Target: at most 150 ms added. Saves artifacts/bench/heatmap.json.

Run: `.venv/bin/python bench/bench_heatmap.py [--models artifacts/models-real] [--runs 20]`.
"""

import argparse
import importlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from rich.console import Console
from rich.table import Table
from torchvision.models import mobilenet_v2

from kneegrade_ml.explain.render import heatmap_png
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.runtime import configure_cpu
from kneegrade_ml.synth.dataset import generate_dataset
from kneegrade_ml.synth.params import sample_params
from kneegrade_ml.synth.render import render_knee
from kneegrade_ml.training.loop import TrainOptions
from kneegrade_ml.training.train import train_model

MODELS = Path("artifacts/models")
RESULTS = Path("artifacts/bench/heatmap.json")
KINDS = ("mobilenetv2", "cnn", "rf")
TARGET_MS = 150
WARM_UP = 3

console = Console()


def knee_image() -> Image.Image:
    """A freshly rendered 224x224 grade-2 knee."""
    rng = np.random.default_rng(0)
    return Image.fromarray(render_knee(sample_params(2, rng), rng))


def model_dirs(models: Path, scratch: Path) -> dict[str, tuple[Path, str]]:
    """Each kind's model directory and where it came from, training tiny stand-ins as needed."""
    found = {k: models / k for k in KINDS if (models / k / "model.json").is_file()}
    missing = [k for k in KINDS if k not in found]
    if missing:
        data = scratch / "synthetic"
        sizes = {"train": 4, "test": 2, "samples": 1}
        generate_dataset(data, seed=0, split_sizes=sizes, workers=1, progress=False)
        torch.manual_seed(0)
        pretrained = scratch / "mobilenet_v2_random.pth"
        torch.save(mobilenet_v2().state_dict(), pretrained)
        for kind in missing:
            console.print(f"{models / kind} is missing: training a tiny {kind}")
            train_model(
                kind,
                data,
                scratch / kind,
                TrainOptions(epochs=1),
                pretrained,
                progress=False,
            )
    return {
        k: (found[k], str(found[k])) if k in found else (scratch / k, "tiny stand-in")
        for k in KINDS
    }


def _ms(work) -> float:
    start = time.perf_counter()
    work()
    return 1000 * (time.perf_counter() - start)


def measure(predictor: Predictor, image: Image.Image, runs: int) -> dict[str, float]:
    """Milliseconds: median ``predict``, median ``predict`` + heatmap PNG, first ``explain``."""
    predictor.predict(image)
    first = _ms(lambda: predictor.explain(image))

    def with_heatmap() -> None:
        grade = predictor.predict(image).grade
        heatmap_png(predictor.explain(image, grade))

    for _ in range(WARM_UP):
        with_heatmap()
    alone, explained = [], []
    for _ in range(runs):
        alone.append(_ms(lambda: predictor.predict(image)))
        explained.append(_ms(with_heatmap))
    predict_ms, explained_ms = statistics.median(alone), statistics.median(explained)
    return {
        "predict_ms": predict_ms,
        "with_heatmap_ms": explained_ms,
        "added_ms": explained_ms - predict_ms,
        "first_explain_ms": first,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=MODELS, help="the models folder")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each")
    args = parser.parse_args()
    configure_cpu()
    image = knee_image()
    import_ms = _ms(lambda: importlib.import_module("kneegrade_ml.explain.heatmaps"))
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for kind, (directory, source) in model_dirs(args.models, Path(scratch)).items():
            figures = measure(Predictor(directory), image, args.runs)
            results[kind] = {"model": source, **figures}
    show(results, args.runs, image.size)
    console.print(
        f"first explain's import of Grad-CAM (once per process): {import_ms:.0f} ms"
    )
    summary = {"cores": os.cpu_count(), "runs": args.runs, "import_ms": import_ms}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**summary, **results}, indent=2))
    console.print(f"saved {RESULTS}")


def show(results: dict, runs: int, size: tuple[int, int]) -> None:
    table = Table(
        title=f"heatmap cost in ms, {size[0]}x{size[1]} image, median of {runs} runs, "
        f"{os.cpu_count()} cores"
    )
    columns = ("model", "predict", "+ heatmap", "added", "ratio", "cold explain")
    for column in (*columns, f"<= {TARGET_MS}"):
        table.add_column(column, justify="right")
    for kind, r in results.items():
        table.add_row(
            kind,
            f"{r['predict_ms']:.1f}",
            f"{r['with_heatmap_ms']:.1f}",
            f"{r['added_ms']:.1f}",
            f"{r['with_heatmap_ms'] / r['predict_ms']:.2f}x",
            f"{r['first_explain_ms']:.1f}",
            "yes" if r["added_ms"] <= TARGET_MS else "NO",
        )
    console.print(table)
    for kind, r in results.items():
        console.print(f"{kind}: {r['model']}")


if __name__ == "__main__":
    main()
