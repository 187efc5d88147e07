"""Scan graded image folders: ``SPLIT/<grade>/<image>`` and ``ROOT/<split>/<grade>/<image>``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.grades import GRADES

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm"})
SPLITS = ("train", "val", "test", "samples")
_GRADE_DIRS = {str(g): g for g in GRADES}
_LAYOUT = "ROOT/<split>/<grade>/<image> with splits among train, val, test, samples and grades 0-4"


@dataclass(frozen=True)
class Sample:
    """One labelled image: where it is and its KL grade (taken from its folder name)."""

    path: Path
    grade: int

    def __post_init__(self) -> None:
        if self.grade not in GRADES:
            raise DatasetError(
                f"{self.path}: grade {self.grade!r} is not a KL grade {GRADES}"
            )


def _visible(folder: Path) -> list[Path]:
    """Entries of ``folder`` minus hidden ones (``.DS_Store``, ``.ipynb_checkpoints``), sorted by name."""
    return sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def _require_dir(folder: Path) -> None:
    if not folder.exists():
        raise DatasetError(f"dataset folder {folder} does not exist")
    if not folder.is_dir():
        raise DatasetError(f"dataset folder {folder} is not a directory")


def scan_split(folder: Path | str) -> list[Sample]:
    """List the images of one split (``folder/<grade>/<image>``), sorted by grade then file name.

    Missing grade folders are allowed (small splits), but the split must hold at least one image.
    """
    folder = Path(folder)
    _require_dir(folder)
    subdirs = [p for p in _visible(folder) if p.is_dir()]
    if not subdirs:
        raise DatasetError(
            f"split {folder} has no grade folders (expected {folder}/<0-4>/<image>)"
        )
    samples = []
    for sub in subdirs:
        if sub.name not in _GRADE_DIRS:
            raise DatasetError(
                f"mislabelled folder {sub}: grade folders must be named 0-4"
            )
        for path in _visible(sub):
            if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
                raise DatasetError(
                    f"{path} is not an image ({', '.join(sorted(IMAGE_SUFFIXES))});"
                    " a grade folder must hold only images"
                )
            samples.append(Sample(path, _GRADE_DIRS[sub.name]))
    if not samples:
        raise DatasetError(f"split {folder} is empty: its grade folders hold no images")
    return sorted(samples, key=lambda s: (s.grade, s.path.name))


def scan_dataset(root: Path | str) -> dict[str, list[Sample]]:
    """Scan every split under ``root`` (train, val, test, samples, in that order).

    A ``root`` that itself holds grade folders is one split, returned as ``{root.name: samples}``.
    """
    root = Path(root)
    _require_dir(root)
    if any((root / name).is_dir() for name in _GRADE_DIRS):
        return {root.name: scan_split(root)}
    splits = {
        name: scan_split(root / name) for name in SPLITS if (root / name).exists()
    }
    if not splits:
        raise DatasetError(
            f"{root} holds neither grade folders nor split folders; expected {_LAYOUT}"
        )
    return splits


def count_by_grade(samples: Iterable[Sample]) -> dict[int, int]:
    """Count samples per grade, with every grade 0-4 present (zeros included) and in order."""
    counts = dict.fromkeys(GRADES, 0)
    for sample in samples:
        counts[sample.grade] += 1
    return counts


def file_list_sha256(samples: Sequence[Sample]) -> str:
    """A fingerprint of which files (grade/name) a model saw, to tell data sets apart."""
    listing = "\n".join(f"{s.grade}/{s.path.name}" for s in samples)
    return hashlib.sha256(listing.encode()).hexdigest()
