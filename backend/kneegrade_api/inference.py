"""The models served: each kind loaded once at start-up, and graded one call at a time."""

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from kneegrade_ml.bundle import CARD_FILE
from kneegrade_ml.models.names import MODEL_NAMES
from kneegrade_ml.predictor import Prediction, Predictor

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = tuple(MODEL_NAMES)
LOADED, MISSING = "loaded", "missing"


class ModelUnavailable(LookupError):
    """The kind asked for is not loaded on this server."""


@dataclass
class ServedModel:
    """A loaded model; the lock keeps calls serial, as torch already uses every core per call."""

    kind: str
    predictor: Predictor
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return MODEL_NAMES.get(self.kind, self.kind)

    @property
    def card(self) -> dict:
        return self.predictor.card

    @property
    def version(self) -> str:
        """When the model was trained (its card's ``created``), else a hash of its card."""
        created = self.card.get("created")
        if isinstance(created, str) and created:
            return created
        card_bytes = (self.predictor.directory / CARD_FILE).read_bytes()
        return hashlib.sha256(card_bytes).hexdigest()[:12]

    def predict(self, image: Image.Image) -> Prediction:
        with self.lock:
            return self.predictor.predict(image)

    def grade(self, image: Image.Image) -> tuple[Prediction, np.ndarray]:
        """The prediction and the heatmap for its grade, at the image's size."""
        with self.lock:
            prediction = self.predictor.predict(image)
            heatmap = self.predictor.explain(image, prediction.grade)
        return prediction, heatmap


def _load(kind: str, directory: Path) -> ServedModel:
    """Load a model directory and grade a blank image: a broken model fails here, not later.

    The heatmap is drawn once too, so the first upload does not pay Grad-CAM's import.
    """
    model = ServedModel(kind, Predictor(directory))
    if model.predictor.kind != kind:
        raise ValueError(f"{directory} holds a {model.predictor.kind!r} model")
    model.grade(Image.new("L", (224, 224)))
    return model


class ModelRegistry:
    """Every model kind's state: the loaded models, and why the others are not."""

    def __init__(self, models: dict[str, ServedModel], status: dict[str, str]):
        self.models = models
        self.status = status

    @classmethod
    def load(cls, models_dir: Path) -> "ModelRegistry":
        """Load ``<models_dir>/<kind>/`` for every kind; failures are logged, not raised."""
        models: dict[str, ServedModel] = {}
        status: dict[str, str] = {}
        for kind in KINDS:
            directory = models_dir / kind
            if not directory.exists():
                status[kind] = MISSING
                continue
            try:
                models[kind] = _load(kind, directory)
            except Exception as err:  # a bad model must not stop the others serving
                log.exception("model %s in %s cannot be served", kind, directory)
                status[kind] = f"error: {err}"
            else:
                status[kind] = LOADED
                log.info("model %s loaded from %s", kind, directory)
        return cls(models, status)

    def get(self, kind: str) -> ServedModel:
        """The loaded model of ``kind``; ModelUnavailable says which ones are loaded."""
        if kind not in self.models:
            loaded = ", ".join(self.models) or "none"
            raise ModelUnavailable(
                f"model {kind!r} is not available on this server"
                f" ({self.status.get(kind, MISSING)}; loaded: {loaded})"
            )
        return self.models[kind]
