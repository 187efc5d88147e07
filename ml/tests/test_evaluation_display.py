"""Metric tables show names and percentages; the confusion-matrix PNG is written and readable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from rich.table import Table

from kneegrade_ml.evaluation.display import (
    confusion_table,
    metrics_table,
    plot_confusion_matrix,
)
from kneegrade_ml.evaluation.metrics import compute_metrics
from kneegrade_ml.grades import GRADE_NAMES


def render(table: Table) -> str:
    console = Console(record=True, width=120)
    console.print(table)
    return console.export_text()


@pytest.fixture
def metrics() -> dict:
    y_true = [0, 0, 1, 1, 2, 3, 4, 4]
    pred = [0, 1, 1, 0, 2, 2, 4, 3]
    probs = np.full((8, 5), 0.1)
    probs[np.arange(8), pred] = 0.6
    return compute_metrics(y_true, probs)


def test_metrics_table_shows_grades_percentages_and_headline(metrics: dict) -> None:
    text = render(metrics_table(metrics, "Validation"))
    assert "Validation" in text
    for g, name in enumerate(GRADE_NAMES):
        assert f"{g} {name}" in text
    assert "macro" in text
    assert "66.7%" in text  # F1 of grades 2 and 4
    assert "46.7%" in text  # macro F1 = 2.333 / 5
    assert "accuracy 50.0%" in text
    assert "QWK 0.880" in text
    assert "MAE 0.500" in text


def test_metrics_table_handles_undefined_qwk() -> None:
    m = compute_metrics([2, 2], np.array([[0.1, 0.1, 0.6, 0.1, 0.1]] * 2))
    assert "QWK n/a" in render(metrics_table(m, "one grade"))


def test_confusion_table_has_headers_and_counts(metrics: dict) -> None:
    text = render(confusion_table(metrics))
    for g, name in enumerate(GRADE_NAMES):
        assert text.count(f"{g} {name}") == 2  # once as column, once as row header
    row4 = next(
        line for line in text.splitlines() if line.lstrip("│ ").startswith("4 Severe")
    )
    assert [c.strip() for c in row4.split("│") if c.strip()][1:] == [
        "0",
        "0",
        "0",
        "1",
        "1",
    ]


def test_plot_confusion_matrix_writes_png(metrics: dict, tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "cm.png"
    plot_confusion_matrix(metrics, path, "Validation confusion matrix")
    assert path.is_file()
    with Image.open(path) as img:
        assert img.format == "PNG"
        width, height = img.size
    assert 300 < width < 2000 and 300 < height < 2000
