"""``kneegrade pipeline``: synthetic data -> three models -> test metrics -> comparison table."""

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kneegrade_ml.evaluation.display import plot_confusion_matrix
from kneegrade_ml.evaluation.evaluate import evaluate_model
from kneegrade_ml.evaluation.report import comparison_table, write_comparison
from kneegrade_ml.models.registry import REGISTRY
from kneegrade_ml.synth.dataset import generate_dataset
from kneegrade_ml.training.cv import cross_validate
from kneegrade_ml.training.loop import SPEC_OPTIONS, TrainOptions
from kneegrade_ml.training.train import train_model

SPEC_KINDS = tuple(kind for kind, info in REGISTRY.items() if info.published)
"""The SPEC's three models, which the original system published figures for."""


def _timed(step, *args, **kwargs) -> tuple[object, float]:
    start = time.perf_counter()
    result = step(*args, **kwargs)
    return result, time.perf_counter() - start


def run_pipeline(
    root: Path,
    seed: int = 0,
    options: TrainOptions = SPEC_OPTIONS,
    pretrained: Path | None = None,
    cv_folds: int = 0,
    kinds: tuple[str, ...] | None = None,
    console: Console | None = None,
) -> dict[str, dict]:
    """Run every step under ``root`` (synthetic/, models/, results/); returns results by kind.

    The synthetic set is generated only when ``root/synthetic/train`` is absent; ``kinds``
    defaults to the SPEC's three (those with published figures).
    """
    console = console or Console()
    data, models, results_dir = root / "synthetic", root / "models", root / "results"
    timings: dict[str, float] = {}
    if not (data / "train").is_dir():
        _, timings["synthetic data"] = _timed(generate_dataset, data, seed=seed)
    results: dict[str, dict] = {}
    for kind in kinds or SPEC_KINDS:
        name = REGISTRY[kind].display_name
        console.rule(f"{name}: training")
        _, timings[f"{name} training"] = _timed(
            train_model, kind, data, models / kind, options, pretrained
        )
        metrics, timings[f"{name} test evaluation"] = _timed(
            evaluate_model, models / kind, data / "test"
        )
        (results_dir / kind).mkdir(parents=True, exist_ok=True)
        (results_dir / kind / "test.json").write_text(json.dumps(metrics, indent=2))
        plot_confusion_matrix(
            metrics,
            results_dir / kind / "test_confusion.png",
            f"{name}, synthetic test",
        )
        if cv_folds:
            console.rule(f"{name}: {cv_folds}-fold cross-validation")
            metrics["cv"], timings[f"{name} {cv_folds}-fold CV"] = _timed(
                cross_validate, kind, data, cv_folds, options, pretrained
            )
            (results_dir / kind / "cv.json").write_text(
                json.dumps(metrics["cv"], indent=2)
            )
        results[kind] = metrics
    write_comparison(results, results_dir)
    console.print(
        comparison_table(results, "Synthetic test set (250 images): published vs ours")
    )
    console.print(_timing_table(timings))
    console.print(f"Models in {models}; results in {results_dir}/comparison.md")
    return results


def _timing_table(timings: dict[str, float]) -> Table:
    """Where the time went, step by step."""
    table = Table(title="Where the time goes")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step, seconds in timings.items():
        table.add_row(step, f"{seconds:.1f}")
    table.add_section()
    table.add_row("total", f"{sum(timings.values()):.1f}", style="bold")
    return table
