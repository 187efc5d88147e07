"""The per-split, per-grade summary table renders names, counts and totals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.summary import describe_dataset
from kneegrade_ml.grades import GRADE_NAMES

MakeSplit = Callable[..., Path]


def render(table: Table) -> str:
    console = Console(record=True, width=120)
    console.print(table)
    return console.export_text()


def rows(text: str) -> dict[str, list[str]]:
    """Map each data row's first cell to its remaining cells (numbers only)."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.replace("┃", "│").split("│") if c.strip()]
        if len(cells) == 7 and cells[1].isdigit():
            out[cells[0]] = cells[1:]
    return out


def test_describe_dataset_with_several_splits(
    tmp_path: Path, make_split: MakeSplit
) -> None:
    make_split(tmp_path / "train", {0: 3, 1: 2, 2: 1, 4: 1})
    make_split(tmp_path / "test", {0: 1, 3: 2})
    text = render(describe_dataset(tmp_path))
    for grade, name in enumerate(GRADE_NAMES):
        assert f"{grade} {name}" in text
    assert "total" in text
    assert rows(text) == {
        "train": ["3", "2", "1", "0", "1", "7"],
        "test": ["1", "0", "0", "2", "0", "3"],
        "all": ["4", "2", "1", "2", "1", "10"],
    }


def test_describe_single_split_has_no_all_row(
    tmp_path: Path, make_split: MakeSplit
) -> None:
    split = make_split(tmp_path / "val", {2: 2})
    assert rows(render(describe_dataset(split))) == {
        "val": ["0", "0", "2", "0", "0", "2"]
    }


def test_describe_dataset_propagates_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="expected"):
        describe_dataset(tmp_path)
