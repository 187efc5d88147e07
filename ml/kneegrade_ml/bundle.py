"""Model directories that describe themselves: weights plus a ``model.json`` model card.

Like a MONAI bundle, the card says what the model is (architecture, input, classes), what it learned
from (data, counts, file-list hash, hyper-parameters, seed), how well it did and with which
library versions, so a served model can always be traced back to its training run.
"""

import hashlib
import json
import platform
from dataclasses import asdict, fields
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from kneegrade_ml.grades import GRADE_NAMES
from kneegrade_ml.models.classifiers import CLASSIFIERS, KLClassifier
from kneegrade_ml.preprocess import InputSpec
from kneegrade_ml.training.loop import TrainOptions

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
    return {"python": platform.python_version(), **{p: version(p) for p in packages}}


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
    """Write weights and the model card (``card`` adds training and metrics); returns the card."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / classifier.weights_file
    classifier.save(weights)
    full_card = {
        "format": FORMAT,
        "kind": classifier.kind,
        "architecture": classifier.architecture,
        "weights": classifier.weights_file,
        "files": {classifier.weights_file: file_record(weights)},
        "input": classifier.spec.to_dict(),
        "class_names": list(GRADE_NAMES),
        "hyperparameters": classifier.hyperparameters(),
        "options": asdict(classifier.options),
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
    if card.get("kind") not in CLASSIFIERS:
        raise ModelLoadError(
            f"{card_path}: unknown model kind {card.get('kind')!r} "
            f"(known: {', '.join(CLASSIFIERS)})"
        )
    return card


def _options(directory: Path, card: dict) -> TrainOptions:
    """The options the model was built with (cards from before they were stored: SPEC's)."""
    options = card.get("options", {})
    known = {f.name for f in fields(TrainOptions)}
    if not isinstance(options, dict) or not set(options) <= known:
        raise ModelLoadError(f"{directory / CARD_FILE}: malformed options {options!r}")
    return TrainOptions(**options)


def _temperature(directory: Path, card: dict) -> float:
    """The calibration temperature in the card, 1 when the model was not calibrated."""
    temperature = (card.get("calibration") or {}).get("temperature", 1.0)
    if not isinstance(temperature, int | float) or not temperature > 0:
        raise ModelLoadError(
            f"{directory / CARD_FILE}: temperature must be a positive number, "
            f"got {temperature!r}"
        )
    return float(temperature)


def load_bundle(directory: Path | str) -> tuple[KLClassifier, dict]:
    """Build the classifier a model directory describes and load its weights."""
    directory = Path(directory)
    card = read_card(directory)
    classifier = CLASSIFIERS[card["kind"]](_options(directory, card))
    classifier.temperature = _temperature(directory, card)
    try:
        spec = InputSpec.from_dict(card["input"])
    except (KeyError, TypeError, ValueError) as err:
        raise ModelLoadError(
            f"{directory / CARD_FILE}: malformed input spec ({err!r})"
        ) from err
    if spec != classifier.spec:
        raise ModelLoadError(
            f"{directory / CARD_FILE}: input spec differs from {card['kind']}'s"
        )
    weights = directory / classifier.weights_file
    if not weights.is_file():
        raise ModelLoadError(f"weights file {weights} is missing")
    verify_files(directory, card)
    try:
        classifier.load(weights)
    except Exception as err:
        raise ModelLoadError(f"cannot load weights {weights}: {err}") from err
    return classifier, card
