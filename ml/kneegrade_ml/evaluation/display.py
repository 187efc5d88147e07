"""Human-readable views of ``compute_metrics`` output: rich tables and a confusion-matrix PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.table import Table

from kneegrade_ml.grades import GRADES, grade_name

HEADERS = [f"{g} {grade_name(g)}" for g in GRADES]


def _pct(value: float | None) -> str:
    """Fractions read more easily as percentages; None (undefined) shows as n/a."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def labelled_table(title: str, columns: tuple[str, ...]) -> Table:
    """An empty table whose first column names the row (left) and the rest hold figures
    (right), as the CLI and benches print results."""
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def metrics_table(metrics: dict, title: str) -> Table:
    """Per-grade precision/recall/F1/support plus a macro row, headline numbers in the caption."""
    qwk = "n/a" if metrics["qwk"] is None else f"{metrics['qwk']:.3f}"
    table = Table(
        title=title,
        min_width=76,  # room for the caption on one line
        caption=(
            f"accuracy {_pct(metrics['accuracy'])} · QWK {qwk} · "
            f"MAE {metrics['mae']:.3f} grades · ECE {metrics['ece']:.3f} · n={metrics['n']}"
        ),
    )
    table.add_column("grade")
    for name in ("precision", "recall", "F1", "support"):
        table.add_column(name, justify="right")
    for g, header in zip(GRADES, HEADERS, strict=True):
        row = metrics["per_class"][str(g)]
        table.add_row(
            header,
            _pct(row["precision"]),
            _pct(row["recall"]),
            _pct(row["f1"]),
            str(row["support"]),
            end_section=g == GRADES[-1],
        )
    table.add_row(
        "macro",
        _pct(metrics["precision_macro"]),
        _pct(metrics["recall_macro"]),
        _pct(metrics["f1_macro"]),
        str(metrics["n"]),
        style="bold",
    )
    return table


def confusion_table(metrics: dict) -> Table:
    """The raw confusion matrix as a table, rows = true grade, columns = predicted grade."""
    table = Table(title="Confusion matrix (rows: true grade, columns: predicted grade)")
    table.add_column("true \\ predicted")
    for header in HEADERS:
        table.add_column(header, justify="right")
    for header, counts in zip(HEADERS, metrics["confusion_matrix"], strict=True):
        table.add_row(header, *(str(c) for c in counts))
    return table


def plot_confusion_matrix(metrics: dict, path: Path, title: str) -> None:
    """Save a row-normalised (per-grade recall) heat map annotated with counts, for reports."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = np.asarray(metrics["confusion_matrix"], dtype=int)
    totals = counts.sum(axis=1, keepdims=True)
    recall = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)

    fig = Figure(figsize=(6.4, 5.2), dpi=120, layout="tight")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(recall, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, label="fraction of true grade (recall)")
    ticks = range(len(GRADES))
    ax.set_xticks(ticks, HEADERS, rotation=30, ha="right")
    ax.set_yticks(ticks, HEADERS)
    ax.set_xlabel("predicted grade")
    ax.set_ylabel("true grade")
    ax.set_title(title)
    for (i, j), count in np.ndenumerate(counts):
        colour = "white" if recall[i, j] > 0.5 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=colour)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
