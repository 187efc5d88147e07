"""The comparison table: our models beside the figures the original system published (each
kind's ``published`` in the registry)."""

import json
from pathlib import Path

from rich.table import Table

from kneegrade_ml.models.registry import REGISTRY, display_name

COLUMNS = ("model", "source", "accuracy", "precision", "recall", "F1", "QWK", "MAE")
COLUMNS += ("per-grade accuracy 0/1/2/3/4", "10-fold CV accuracy")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _whole_pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}"


def _row(kind: str, source: str, figures: dict) -> list[str]:
    per_grade = figures.get("per_class_accuracy")
    cv = figures.get("cv")
    mae = figures.get("mae")
    return [
        display_name(kind),
        source,
        _pct(figures.get("accuracy")),
        _pct(figures.get("precision_macro")),
        _pct(figures.get("recall_macro")),
        _pct(figures.get("f1_macro")),
        "-" if figures.get("qwk") is None else f"{figures['qwk']:.3f}",
        "-" if mae is None else f"{mae:.3f}",
        "-" if per_grade is None else " / ".join(_whole_pct(a) for a in per_grade),
        "-"
        if cv is None
        else f"{_pct(cv['accuracy_mean'])} ± {100 * cv['accuracy_std']:.2f}",
    ]


def comparison_rows(results: dict[str, dict]) -> list[list[str]]:
    """Published and measured rows per model; ``results[kind]`` is test metrics plus ``cv``."""
    rows = []
    for kind, figures in results.items():
        published = REGISTRY[kind].published if kind in REGISTRY else None
        if published:
            rows.append(_row(kind, "published", published))
        rows.append(_row(kind, "KneeGrade", figures))
    return rows


def comparison_markdown(results: dict[str, dict]) -> str:
    """The table as GitHub markdown (percentages; QWK and MAE as they are)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in comparison_rows(results)]
    return "\n".join(lines) + "\n"


def comparison_table(results: dict[str, dict], title: str) -> Table:
    """The same table for the terminal."""
    table = Table(title=title)
    for i, column in enumerate(COLUMNS):
        table.add_column(column, justify="left" if i < 2 else "right")
    for i, row in enumerate(comparison_rows(results)):
        table.add_row(*row, style="dim" if i % 2 == 0 else None)
    return table


def write_comparison(results: dict[str, dict], directory: Path) -> None:
    """Save ``comparison.md`` and ``comparison.json`` (ours and published) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "comparison.md").write_text(comparison_markdown(results))
    published = {kind: REGISTRY[kind].published for kind in results if kind in REGISTRY}
    payload = {"kneegrade": results, "published": published}
    (directory / "comparison.json").write_text(json.dumps(payload, indent=2))
