"""Model directories that describe themselves: weights plus a ``model.json`` model card.

Like a MONAI bundle, the card says what the model is (architecture, input, classes), what it learned
from (data, counts, file-list hash, hyper-parameters, seed), how well it did and with which
library versions, so a served model can always be traced back to its training run.
"""

import hashlib
import json
import platform
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

from kneegrade_ml.grades import GRADE_NAMES
from kneegrade_ml.models.base import KLClassifier
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.registry import REGISTRY, create_classifier
from kneegrade_ml.preprocess import InputSpec

CARD_FILE = "model.json"
FORMAT = "kneegrade-model/1"


class ModelLoadError(RuntimeError):
    """A model directory that cannot be served; the message says which file and why."""


def library_versions() -> dict[str, str]:
    """Versions of what produced the model, for reproducing it."""
    packages = (
        "kneegrade-ml",
        "torch",
        "torchvision",
        "scikit-learn",
        "numpy",
        "pillow",
    )
    return {
        "python": platform.python_version(),
        **{p: installed_version(p) for p in packages},
    }


def installed_version(package: str) -> str:
    """Its installed version; a source tree on ``PYTHONPATH`` has none, and its card's source
    revision names the code instead, so saving a model trained that way must not fail."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_record(path: Path) -> dict:
    """A weight file's size and sha256, as the card's ``files`` lists them."""
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def verify_files(directory: Path, card: dict) -> None:
    """Every file the card lists is there, with its recorded sha256: a changed, truncated or
    swapped weight file refuses to load rather than grade with unknown weights."""
    files = card.get("files") or {}
    if not isinstance(files, dict):
        raise ModelLoadError(f"{directory / CARD_FILE}: malformed files {files!r}")
    for name, record in files.items():
        path = directory / name
        if Path(name).name != name or not isinstance(record, dict):
            raise ModelLoadError(
                f"{directory / CARD_FILE}: malformed file entry {name!r}"
            )
        if not path.is_file():
            raise ModelLoadError(f"weights file {path} is missing")
        actual = sha256_file(path)
        if actual != record.get("sha256"):
            raise ModelLoadError(
                f"weights file {path} does not match the sha256 in its model card "
                f"(changed or truncated: expected {record.get('sha256')}, got {actual})"
            )


def save_bundle(classifier: KLClassifier, directory: Path, card: dict) -> dict:
    """Write weights and the model card (``card`` adds training and metrics); returns the card.

    ``config`` is what serving reads; ``input`` repeats its input spec for people.
    """
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / classifier.weights_file
    classifier.save(weights)
    full_card = {
        "format": FORMAT,
        "kind": classifier.kind,
        "architecture": classifier.architecture,
        "weights": classifier.weights_file,
        "files": {classifier.weights_file: file_record(weights)},
        "config": classifier.config.to_dict(),
        "input": classifier.spec.to_dict(),
        "class_names": list(GRADE_NAMES),
        **card,
        "versions": library_versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (directory / CARD_FILE).write_text(json.dumps(full_card, indent=2))
    return full_card


def read_card(directory: Path) -> dict:
    """The model card of ``directory``, checked enough to build the model from it."""
    card_path = Path(directory) / CARD_FILE
    if not Path(directory).is_dir():
        raise ModelLoadError(f"model directory {directory} does not exist")
    if not card_path.is_file():
        raise ModelLoadError(f"{card_path} is missing: not a KneeGrade model directory")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{card_path} is not valid JSON: {err}") from err
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ModelLoadError(f"{card_path} is not a {FORMAT} model card")
    if card.get("kind") not in REGISTRY:
        raise ModelLoadError(
            f"{card_path}: unknown model kind {card.get('kind')!r} "
            f"(known: {', '.join(REGISTRY)})"
        )
    return card


def model_config(directory: Path, card: dict) -> ModelConfig:
    """The card's serving configuration; a card from before ``config`` was stored gives it
    through its training options, input spec and calibration."""
    try:
        if "config" in card:
            return ModelConfig.from_dict(card["config"])
        return _config_of_older_card(card)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelLoadError(
            f"{directory / CARD_FILE}: malformed model config ({err!r})"
        ) from err


def _config_of_older_card(card: dict) -> ModelConfig:
    options = card.get("options") or {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a mapping, got {options!r}")
    default = REGISTRY[card["kind"]].config
    fields = {
        "input": InputSpec.from_dict(card["input"]),
        "tta_flip": bool(options.get("tta_flip", False)),
        "temperature": (card.get("calibration") or {}).get("temperature", 1.0),
    }
    if default.trainable_from is not None:
        fields["trainable_from"] = (
            options.get("trainable_from") or default.trainable_from
        )
    return replace(default, **fields)


def load_bundle(directory: Path | str) -> tuple[KLClassifier, dict]:
    """Build the classifier a model directory describes and load its weights."""
    directory = Path(directory)
    card = read_card(directory)
    config = model_config(directory, card)
    try:
        with torch.random.fork_rng(
            devices=[]
        ):  # initial weights are replaced; RNG untouched
            classifier = create_classifier(card["kind"], config)
    except ValueError as err:
        raise ModelLoadError(f"{directory / CARD_FILE}: {err}") from err
    weights = directory / classifier.weights_file
    if not weights.is_file():
        raise ModelLoadError(f"weights file {weights} is missing")
    verify_files(directory, card)
    try:
        classifier.load(weights)
    except Exception as err:
        raise ModelLoadError(f"cannot load weights {weights}: {err}") from err
    return classifier, card
