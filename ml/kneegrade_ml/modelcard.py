"""What a model card tells its users, read the same way by the API, the reports and the CLI.

Torch-free: serving code can describe a model without importing a network. Cards written before
a field existed still read: a model whose training data is not recorded as real radiographs is a
demo, never presented as able to grade a real knee.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from kneegrade_ml.data.source import REAL, SYNTHETIC
from kneegrade_ml.models.registry import display_name

DEMO_NOTE = "Demo only: trained on synthetic images, it cannot grade real radiographs."
UNKNOWN_NOTE = "Training data not recorded: not validated on real radiographs."
UNRECORDED_NOTE = "Graded before KneeGrade recorded what its models learned from: treat as unvalidated."
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
"""A release's version: major.minor.patch, with an optional pre-release and build."""


def model_warning(data_kind: str | None) -> str | None:
    """What to print beside a grade from a model that learned from ``data_kind``: nothing for
    real radiographs; None means a grade stored before the data kind was recorded."""
    if data_kind == REAL:
        return None
    if data_kind is None:
        return UNRECORDED_NOTE
    return DEMO_NOTE if data_kind == SYNTHETIC else UNKNOWN_NOTE


@dataclass(frozen=True)
class ModelInfo:
    """A model's name, version and provenance as shown next to every grade it gives."""

    name: str
    version: str
    data_kind: str
    """``real``, ``synthetic`` or ``unknown``."""
    trained_on: str
    """One line: which images the model learned from."""
    metrics_on: str | None
    """One line: which images its headline metrics were measured on."""
    intended_use: str | None
    limitations: tuple[str, ...]

    @property
    def release_order(self) -> tuple[int, ...]:
        """The version as numbers, so 1.10.0 comes after 1.9.0; unversioned models first."""
        match = SEMVER.match(self.version)
        return tuple(int(part) for part in match.groups()) if match else ()

    @property
    def demo(self) -> bool:
        """True unless the card records real radiographs as the training data."""
        return self.data_kind != REAL

    @property
    def warning(self) -> str | None:
        """What to print beside a demo model's grade; None for a real-radiograph model."""
        return model_warning(self.data_kind)

    @classmethod
    def from_card(cls, card: dict) -> "ModelInfo":
        training = card.get("training") or {}
        dataset = training.get("dataset") or None
        kind = _data_kind(dataset)
        return cls(
            name=str(card.get("name") or display_name(str(card.get("kind")))),
            version=str(card.get("version") or card.get("created") or "unversioned"),
            data_kind=kind,
            trained_on=_trained_on(kind, dataset, training.get("counts") or {}),
            metrics_on=_metrics_on(kind, dataset, card.get("metrics")),
            intended_use=card.get("intended_use"),
            limitations=tuple(card.get("limitations") or ()),
        )


def _data_kind(dataset: dict | None) -> str:
    """Older cards of real data sets hold a SOURCE.md record without ``kind``."""
    if not dataset:
        return "unknown"
    return str(dataset.get("kind", REAL))


def _images(counts: dict, split: str) -> int | None:
    per_grade = counts.get(split)
    return sum(per_grade.values()) if isinstance(per_grade, dict) else None


def _describe(kind: str, dataset: dict | None) -> str:
    if kind == SYNTHETIC:
        seed = (dataset or {}).get("seed")
        return "synthetic knee images" + (f" (seed {seed})" if seed is not None else "")
    if kind == REAL:
        return f"real knee radiographs, {(dataset or {}).get('title') or 'data set'}"
    return "unrecorded data"


def _trained_on(kind: str, dataset: dict | None, counts: dict) -> str:
    n = _images(counts, "train")
    size = f", train split ({n:,} images)" if n else ""
    return f"{_describe(kind, dataset)}{size}"


def _metrics_on(kind: str, dataset: dict | None, metrics: dict | None) -> str | None:
    if not metrics:
        return None
    n = metrics.get("n")
    size = f" ({n:,} images)" if n else ""
    return (
        f"{metrics.get('split', 'held-out')} split of {_describe(kind, dataset)}{size}"
    )


def recorded_file_list(card: dict, split: str) -> str | None:
    """The sha256 of ``split``'s file list as the card recorded it in training, so a later
    step can check it reads the same images; None on cards written before it was recorded."""
    return ((card.get("training") or {}).get("file_list_sha256") or {}).get(split)


def model_reference(directory: str | Path, card: dict) -> dict:
    """Which model another card builds on (a teacher, an ensemble member): its directory,
    name, version, kind and weights' sha256, so a model released over it later cannot be
    mistaken for it."""
    info = ModelInfo.from_card(card)
    weights = (card.get("files") or {}).get(card.get("weights"), {})
    return {
        "directory": str(directory),
        "name": info.name,
        "version": info.version,
        "kind": card["kind"],
        "weights_sha256": weights.get("sha256"),
    }
