"""Scanning graded image folders: layouts, ordering, counts and every error case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.folders import Sample, count_by_grade, scan_dataset, scan_split

MakeSplit = Callable[..., Path]

REAL_ROOT = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "knee-kl-chen2018"
)


def test_scan_split_lists_every_image_with_its_grade(
    tmp_path: Path, make_split: MakeSplit
) -> None:
    split = make_split(tmp_path / "train", {0: 2, 1: 1, 2: 3, 3: 1, 4: 1})
    samples = scan_split(split)
    assert len(samples) == 8
    assert all(
        isinstance(s, Sample) and s.path.parent.name == str(s.grade) for s in samples
    )
    assert samples[0] == Sample(split / "0" / "img_0.png", 0)


def test_scan_split_order_is_by_grade_then_name(
    tmp_path: Path, write_png: Callable[..., Path]
) -> None:
    for name in ("b.png", "a.PNG", "c.jpg"):
        write_png(tmp_path / "1" / name)
    write_png(tmp_path / "0" / "z.png")
    write_png(tmp_path / "4" / "a.tif")
    got = [(s.grade, s.path.name) for s in scan_split(str(tmp_path))]
    assert got == [(0, "z.png"), (1, "a.PNG"), (1, "b.png"), (1, "c.jpg"), (4, "a.tif")]
    assert scan_split(tmp_path) == scan_split(tmp_path)


def test_scan_split_allows_missing_grades_and_ignores_hidden(
    tmp_path: Path, make_split: MakeSplit
) -> None:
    split = make_split(tmp_path / "test", {0: 1, 2: 2})
    (split / "2" / ".DS_Store").write_bytes(b"junk")
    (split / ".ipynb_checkpoints").mkdir()
    assert count_by_grade(scan_split(split)) == {0: 1, 1: 0, 2: 2, 3: 0, 4: 0}


def test_count_by_grade_has_all_grades_in_order() -> None:
    counts = count_by_grade([Sample(Path("a.png"), 3), Sample(Path("b.png"), 3)])
    assert list(counts.items()) == [(0, 0), (1, 0), (2, 0), (3, 2), (4, 0)]
    assert count_by_grade([]) == {0: 0, 1: 0, 2: 0, 3: 0, 4: 0}


def test_sample_rejects_a_non_grade() -> None:
    with pytest.raises(DatasetError, match="x.png"):
        Sample(Path("x.png"), 5)


def test_scan_dataset_returns_existing_splits_in_order(
    tmp_path: Path, make_split: MakeSplit
) -> None:
    make_split(tmp_path / "test", {0: 1})
    make_split(tmp_path / "samples", {4: 1})
    make_split(tmp_path / "train", {0: 2, 1: 1})
    (tmp_path / "README.md").write_text("not a split")
    splits = scan_dataset(tmp_path)
    assert list(splits) == ["train", "test", "samples"]
    assert [len(s) for s in splits.values()] == [3, 1, 1]


def test_scan_dataset_of_a_single_split(tmp_path: Path, make_split: MakeSplit) -> None:
    split = make_split(tmp_path / "mine", {1: 2})
    assert scan_dataset(split) == {"mine": scan_split(split)}


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("missing", "does not exist"),
        ("file", "not a directory"),
        ("bare", "no grade folders"),
    ],
)
def test_scan_split_rejects_bad_folders(tmp_path: Path, kind: str, match: str) -> None:
    folder = tmp_path / kind
    if kind == "file":
        folder.write_bytes(b"")
    elif kind == "bare":
        folder.mkdir()
        (folder / "notes.txt").write_text("files beside grade folders are not grades")
    with pytest.raises(DatasetError, match=match) as info:
        scan_split(folder)
    assert str(folder) in str(info.value)


@pytest.mark.parametrize("bad", ["5", "cats"])
def test_scan_split_rejects_mislabelled_folders(
    tmp_path: Path, make_split: MakeSplit, write_png: Callable[..., Path], bad: str
) -> None:
    make_split(tmp_path, {0: 1})
    write_png(tmp_path / bad / "x.png")
    with pytest.raises(DatasetError, match="mislabelled") as info:
        scan_split(tmp_path)
    assert str(tmp_path / bad) in str(info.value)


def test_scan_split_rejects_an_empty_split(tmp_path: Path) -> None:
    for grade in "01234":
        (tmp_path / grade).mkdir()
    (tmp_path / "3" / ".DS_Store").write_bytes(b"")
    with pytest.raises(DatasetError, match="empty") as info:
        scan_split(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_scan_split_rejects_a_non_image_in_a_grade_folder(
    tmp_path: Path, make_split: MakeSplit
) -> None:
    make_split(tmp_path, {2: 1})
    notes = tmp_path / "2" / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(DatasetError, match="not an image") as info:
        scan_split(tmp_path)
    assert str(notes) in str(info.value)


def test_scan_dataset_rejects_a_root_without_splits(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    with pytest.raises(DatasetError, match="expected ROOT/<split>/<grade>") as info:
        scan_dataset(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_scan_dataset_reports_a_bad_split(
    tmp_path: Path, make_split: MakeSplit
) -> None:
    make_split(tmp_path / "train", {0: 1})
    (tmp_path / "val").mkdir()
    with pytest.raises(DatasetError, match="no grade folders") as info:
        scan_dataset(tmp_path)
    assert str(tmp_path / "val") in str(info.value)


def test_real_train_split_counts() -> None:
    train = REAL_ROOT / "train"
    if not train.is_dir():
        pytest.skip(f"real dataset not present at {train}")
    assert count_by_grade(scan_split(train)) == {
        0: 2286,
        1: 1046,
        2: 1516,
        3: 757,
        4: 173,
    }
