"""The models served: each model directory loaded once at start-up, and graded one call at a time.

A model's id is its directory's name: the released ``efficientnet-lite2-chen2018`` (and the
releases it superseded, ``efficientnet-lite0-chen2018`` and ``mobilenetv2-chen2018``) beside the
synthetic demos ``mobilenetv2``, ``cnn`` and ``rf`` when both folders are served.
"""

import logging
import threading
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from kneegrade_api.exceptions import ModelUnavailable, UnknownModel
from kneegrade_ml.serving import (
    CARD_FILE,
    DEFAULT_KIND,
    GradedKnee,
    ImageHints,
    Joint,
    Localiser,
    ModelInfo,
    Predictor,
    explain_knee,
    grade_knees,
)

log = logging.getLogger(__name__)

LOADED, MISSING = "loaded", "missing"


@dataclass
class ServedModel:
    """A loaded model. Grades on ONNX Runtime run side by side (its sessions are thread-safe,
    and concurrent uploads keep both cores busy); the lock keeps torch's calls serial, as
    torch already uses every core per call and Grad-CAM hooks into the network while it
    explains."""

    id: str
    predictor: Predictor
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def kind(self) -> str:
        return self.predictor.kind

    @property
    def card(self) -> dict:
        return self.predictor.card

    @property
    def info(self) -> ModelInfo:
        """Name, version and provenance, as shown beside every grade."""
        return ModelInfo.from_card(self.card)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def version(self) -> str:
        return self.info.version

    def grade(
        self,
        image: Image.Image,
        localiser: Localiser | None,
        hints: ImageHints | None = None,
    ) -> list[GradedKnee]:
        """Every knee the localiser finds (the whole image without one), graded;
        ``NoKneeFound`` when there is none."""
        with nullcontext() if self.predictor.engine == "onnx" else self.lock:
            return grade_knees(self.predictor, localiser, image, hints, explain=False)

    def explain(self, image: Image.Image, joint: Joint, grade: int) -> np.ndarray:
        """The heatmap for ``grade`` of the knee at ``joint``, at the image's size."""
        with self.lock:
            return explain_knee(self.predictor, image, joint, grade)


def _load(model_id: str, directory: Path, engine: str) -> ServedModel:
    """Load a model directory and grade a blank image: a broken model fails here, not later.

    The heatmap is drawn once too, so the first upload does not pay Grad-CAM's import.
    """
    model = ServedModel(model_id, Predictor(directory, engine))
    blank = Image.new("L", (224, 224))
    (knee,) = model.grade(blank, localiser=None)
    model.explain(blank, knee.joint, knee.prediction.grade)
    return model


def load_localiser(
    directory: Path | None, engine: str = "torch"
) -> tuple[Localiser | None, str]:
    """The knee-joint localiser and its state; without one every image is graded whole."""
    if directory is None:
        return None, "off"
    if not directory.exists():
        log.error("localiser %s does not exist: images are graded whole", directory)
        return None, MISSING
    try:
        localiser = Localiser(directory, engine)
        localiser.find(Image.new("L", (448, 224)))  # the first call pays torch's set-up
    except Exception as err:  # grading goes on without it, and health says so
        log.exception("localiser in %s cannot be loaded", directory)
        return None, f"error: {err}"
    log.info(
        "localiser %s loaded from %s (%s)",
        localiser.version,
        directory,
        localiser.engine,
    )
    return localiser, LOADED


def model_directories(folders: Iterable[Path]) -> dict[str, Path | None]:
    """Every model directory under ``folders`` by id (None: a folder that does not exist).

    A folder holding a ``model.json`` is one model; any other folder holds one per sub-folder.
    """
    found: dict[str, Path | None] = {}
    for folder in folders:
        if (folder / CARD_FILE).is_file():
            found.setdefault(folder.name, folder)
        elif folder.is_dir():
            for directory in sorted(p for p in folder.iterdir() if p.is_dir()):
                found.setdefault(directory.name, directory)
        else:
            found.setdefault(folder.name or str(folder), None)
    return found


class ModelRegistry:
    """Every configured model's state: the loaded models, and why the others are not."""

    def __init__(
        self,
        models: dict[str, ServedModel],
        status: dict[str, str],
        default: str | None = None,
    ):
        self.models = models
        self.status = status
        self.default = default if default is not None else _default(models)

    @classmethod
    def load(
        cls, folders: Iterable[Path], default: str | None = None, engine: str = "torch"
    ) -> "ModelRegistry":
        """Load every model directory in ``folders`` to run on ``engine``; failures are
        logged, not raised."""
        models: dict[str, ServedModel] = {}
        status: dict[str, str] = {}
        for model_id, directory in model_directories(folders).items():
            if directory is None:
                status[model_id] = MISSING
                continue
            try:
                models[model_id] = _load(model_id, directory, engine)
            except Exception as err:  # a bad model must not stop the others serving
                log.exception("model %s in %s cannot be served", model_id, directory)
                status[model_id] = f"error: {err}"
            else:
                status[model_id] = LOADED
                log.info(
                    "model %s loaded from %s (%s)",
                    model_id,
                    directory,
                    models[model_id].predictor.engine,
                )
        return cls(models, status, default)

    def get(self, model_id: str | None = None) -> ServedModel:
        """The loaded model ``model_id`` (the default when None); else why it is not there."""
        model_id = self.default if model_id is None else model_id
        if model_id in self.models:
            return self.models[model_id]
        loaded = ", ".join(self.models) or "none"
        if model_id is None:
            raise ModelUnavailable(f"no model is loaded on this server ({self.status})")
        if model_id not in self.status:
            raise UnknownModel(f"unknown model {model_id!r} (loaded: {loaded})")
        raise ModelUnavailable(
            f"model {model_id!r} is not available on this server"
            f" ({self.status[model_id]}; loaded: {loaded})"
        )


def _default(models: dict[str, ServedModel]) -> str | None:
    """The newest release trained on real radiographs, else the SPEC's MobileNetV2, else any.

    A release that replaces another under a new id (a new backbone) leaves the old one served
    for the clients that ask for it by id; the newest is what everyone else gets.
    """
    real = [model_id for model_id, m in models.items() if not m.info.demo]
    if real:
        return max(real, key=lambda model_id: models[model_id].info.release_order)
    if DEFAULT_KIND in models:
        return DEFAULT_KIND
    return next(iter(models), None)
