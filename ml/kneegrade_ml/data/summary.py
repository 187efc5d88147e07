"""A rich table of image counts per split and KL grade, for a quick look at a dataset."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

from rich.table import Table

from kneegrade_ml.data.folders import count_by_grade, scan_dataset
from kneegrade_ml.grades import GRADES, grade_name


def describe_dataset(root: Path | str) -> Table:
    """Tabulate images per grade for every split under ``root``, plus an "all" row for several splits."""
    splits = scan_dataset(root)
    table = Table(title=f"KL grades in {root}")
    table.add_column("split")
    for grade in GRADES:
        table.add_column(f"{grade} {grade_name(grade)}", justify="right")
    table.add_column("total", justify="right")

    def add(name: str, counts: dict[int, int], **style: str) -> None:
        table.add_row(
            name, *(str(n) for n in counts.values()), str(sum(counts.values())), **style
        )

    for name, samples in splits.items():
        add(name, count_by_grade(samples))
    if len(splits) > 1:
        table.add_section()
        add("all", count_by_grade(chain.from_iterable(splits.values())), style="bold")
    return table
