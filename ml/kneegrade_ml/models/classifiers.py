"""The three KL classifiers behind one scikit-learn-like interface.

Each one ``encode``s uint8 pixel batches (see ``preprocess``) into what it learns from, then
``fit``s and ``predict_proba``s on encoded data. Encoding once lets training and cross-validation
reuse the expensive part: MobileNetV2's frozen trunk runs once per image, not once per epoch.
"""

from abc import ABC, abstractmethod
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier
from torchvision.models import MobileNetV2
from tqdm import tqdm

from kneegrade_ml.grades import GRADES
from kneegrade_ml.models.networks import KneeOACNN, MobileNetV2KL
from kneegrade_ml.preprocess import GRAY_128, IMAGENET_RGB_224, InputSpec
from kneegrade_ml.training.augment import augment_batch
from kneegrade_ml.training.calibration import softmax_with_temperature
from kneegrade_ml.training.loop import (
    EpochLog,
    TrainOptions,
    Views,
    fit_module,
    module_logits,
)

TRUNK_CHUNK = 8
"""Images per trunk pass: small enough that activations stay in the malloc heap (see runtime)."""
MIN_INPUT_SIZE = 32
"""MobileNetV2 halves the image five times; below 32 pixels its last blocks see nothing."""


class KLClassifier(ABC):
    """A KL grade classifier: encode pixels, fit, predict five probabilities, save, load."""

    kind: ClassVar[str]
    spec: ClassVar[InputSpec]
    weights_file: ClassVar[str]
    architecture: ClassVar[str]

    def __init__(self, options: TrainOptions | None = None):
        self.options = options or TrainOptions()

    @abstractmethod
    def encode(self, pixels: torch.Tensor, progress: bool = False) -> Any:
        """uint8 (N, 1, size, size) pixels -> the representation ``fit`` learns from."""

    @abstractmethod
    def fit(
        self, X: Any, y: torch.Tensor, validation=None, progress=True
    ) -> list[EpochLog]:
        """Learn from encoded data; returns per-epoch figures (empty for non-epoch models)."""

    @abstractmethod
    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities (N, 5) over the KL grades for encoded data."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the learned weights to ``path``."""

    @abstractmethod
    def load(self, path: Path) -> None:
        """Read learned weights written by ``save``."""

    @abstractmethod
    def hyperparameters(self) -> dict:
        """The settings that shaped the learning, for the model card."""

    def encode_views(self, pixels: torch.Tensor, progress: bool = False) -> Any:
        """Training data as ``fit`` reads it (the neural networks add augmented views)."""
        return self.encode(pixels, progress)

    def predict_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        """Probabilities (N, 5) straight from uint8 pixels."""
        return self.predict_proba(self.encode(pixels))


class _TorchClassifier(KLClassifier):
    """What the neural networks share: training on views, calibrated logits, flip averaging.

    Subclasses set ``trained`` (the module ``fit`` trains on encoded data) and ``prepare``.
    """

    weights_file = "model.pt"
    network: torch.nn.Module
    trained: torch.nn.Module
    temperature: float = 1.0
    """Logits are divided by this before the softmax (1: uncalibrated; see calibration)."""

    def __init__(self, options: TrainOptions | None = None):
        """Seeds torch first, so the subclass's freshly initialised weights are reproducible."""
        super().__init__(options)
        if self.options.augment_views and self.options.augment_online:
            raise ValueError("choose augmented views or online augmentation, not both")
        torch.manual_seed(self.options.seed)

    def prepare(self, encoded: torch.Tensor) -> torch.Tensor:
        """A batch of encoded data as ``trained`` reads it."""
        return encoded

    def network_input(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 pixels normalised, in the channels-last layout the network's weights use:
        CPU convolutions run fastest on it (bench/bench_layout.py)."""
        return self.spec.normalize(pixels).contiguous(memory_format=torch.channels_last)

    def encode_views(self, pixels: torch.Tensor, progress: bool = False):
        """The encoded images, plus ``augment_views`` seeded augmented copies as ``Views``."""
        encoded = self.encode(pixels, progress)
        if not self.options.augment_views:
            return encoded
        generator = torch.Generator().manual_seed(self.options.seed)
        augmented = (
            self.encode(augment_batch(pixels, generator), progress)
            for _ in tqdm(
                range(self.options.augment_views),
                desc="augmented views",
                leave=False,
                disable=not progress,
            )
        )
        return Views(torch.stack([encoded, *augmented]))

    def fit(self, X, y, validation=None, progress=True) -> list[EpochLog]:
        augment = None
        if self.options.augment_online:
            generator = torch.Generator().manual_seed(self.options.seed)
            augment = partial(augment_batch, generator=generator)
        return fit_module(
            self.trained,
            X,
            y,
            self.options,
            self.prepare,
            validation,
            self.kind,
            progress,
            augment,
        )

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits (N, 5) for encoded data."""
        return module_logits(self.trained, X, self.prepare)

    def predict_proba(self, X) -> np.ndarray:
        return softmax_with_temperature(self.logits(X).numpy(), self.temperature)

    def pixel_logits(self, pixels: torch.Tensor) -> torch.Tensor:
        """Logits from uint8 pixels, averaged with the mirror image's when ``tta_flip``."""
        views = [pixels, pixels.flip(-1)] if self.options.tta_flip else [pixels]
        return torch.stack([self.logits(self.encode(v)) for v in views]).mean(0)

    def predict_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        logits = self.pixel_logits(pixels).numpy()
        return softmax_with_temperature(logits, self.temperature)

    def save(self, path: Path) -> None:
        torch.save(self.network.state_dict(), path)

    def load(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.network.load_state_dict(state)
        self.network.eval()

    def hyperparameters(self) -> dict:
        o = self.options
        return {
            "optimizer": "AdamW" if o.weight_decay else "Adam",
            "learning_rate": o.learning_rate,
            "schedule": o.schedule,
            "weight_decay": o.weight_decay,
            "loss": o.loss,
            "distance_weight": o.distance_weight,
            "class_weight": o.class_weight,
            "epochs": o.epochs,
            "batch_size": o.batch_size,
            "augment_views": o.augment_views,
            "augment_online": o.augment_online,
            "tta_flip": o.tta_flip,
            "seed": o.seed,
        }


class MobileNetV2Classifier(_TorchClassifier):
    """MobileNetV2 transfer learning: ImageNet trunk frozen, ``features[14:]`` and head trained."""

    kind = "mobilenetv2"
    spec = IMAGENET_RGB_224

    @property
    def architecture(self) -> str:
        n = self.options.trainable_from
        return (
            f"torchvision mobilenet_v2, ImageNet weights; features[:{n}] frozen (eval "
            f"mode), features[{n}:] trained; classifier Dropout(0.5) -> Linear(1280, 5)"
        )

    def __init__(
        self, options: TrainOptions | None = None, backbone: MobileNetV2 | None = None
    ):
        """Training needs an ImageNet ``backbone``; without one the weights are random, which
        suits loading a saved model only."""
        super().__init__(options)
        if self.options.input_size is not None:
            if self.options.input_size < MIN_INPUT_SIZE:
                raise ValueError(
                    f"input_size must be at least {MIN_INPUT_SIZE} pixels, "
                    f"got {self.options.input_size}"
                )
            self.spec = replace(IMAGENET_RGB_224, size=self.options.input_size)
        self.network = MobileNetV2KL(backbone, self.options.trainable_from).to(
            memory_format=torch.channels_last
        )
        self.trained = (
            self.network if self.options.augment_online else self.network.head
        )

    def encode(self, pixels: torch.Tensor, progress: bool = False) -> torch.Tensor:
        """The frozen trunk's output, computed once; just the pixels when every epoch
        augments afresh (the trunk then runs in each step, still frozen)."""
        if self.options.augment_online:
            return pixels
        chunks = []
        with torch.inference_mode():
            for start in tqdm(
                range(0, len(pixels), TRUNK_CHUNK),
                desc="trunk features",
                leave=False,
                disable=not progress,
            ):
                batch = self.network_input(pixels[start : start + TRUNK_CHUNK])
                chunks.append(self.network.trunk(batch))
        return torch.cat(chunks)

    def prepare(self, encoded: torch.Tensor) -> torch.Tensor:
        if self.options.augment_online:
            return self.network_input(encoded)
        return encoded

    def hyperparameters(self) -> dict:
        return {
            **super().hyperparameters(),
            "trainable_from_block": self.options.trainable_from,
        }


class CNNClassifier(_TorchClassifier):
    """The SPEC's custom 4-block CNN on 128x128 grayscale, trained from scratch."""

    kind = "cnn"
    spec = GRAY_128
    architecture = (
        "KneeOACNN: 4 x [Conv3x3(pad 1) -> BatchNorm -> ReLU -> MaxPool2], channels "
        "1-32-64-128-256; Flatten(256*8*8) -> Linear 256 -> ReLU -> Dropout(0.5) -> Linear 5"
    )

    def __init__(self, options: TrainOptions | None = None):
        super().__init__(options)
        self.network = KneeOACNN().to(memory_format=torch.channels_last)
        self.trained = self.network

    def encode(self, pixels: torch.Tensor, progress: bool = False) -> torch.Tensor:
        return pixels

    def prepare(self, encoded: torch.Tensor) -> torch.Tensor:
        return self.network_input(encoded)


class ForestClassifier(KLClassifier):
    """A 100-tree Gini Random Forest on the flattened 128x128 pixels; votes as probabilities."""

    kind = "rf"
    spec = GRAY_128
    weights_file = "model.joblib"
    architecture = (
        "scikit-learn RandomForestClassifier on 16,384 flattened 128x128 pixels"
    )

    def __init__(self, options: TrainOptions | None = None):
        super().__init__(options)
        o = self.options
        if o.augment_views or o.augment_online or o.tta_flip or o.calibrate:
            raise ValueError(
                "augmented views, flip averaging and calibration are for the neural "
                "networks; the Random Forest trains on the images as they are"
            )
        self.model = RandomForestClassifier(
            n_estimators=self.options.n_estimators,
            criterion="gini",
            class_weight=self.options.class_weight,
            random_state=self.options.seed,
            n_jobs=-1,
        )

    def encode(self, pixels: torch.Tensor, progress: bool = False) -> np.ndarray:
        return self.spec.normalize(pixels).flatten(1).numpy()

    def fit(self, X, y, validation=None, progress=True) -> list[EpochLog]:
        self.model.set_params(verbose=1 if progress else 0)
        self.model.fit(X, np.asarray(y))
        self.model.set_params(verbose=0)
        return []

    def predict_proba(self, X) -> np.ndarray:
        """Tree-vote fractions, placed in five columns even if a grade was absent in training."""
        votes = self.model.predict_proba(X)
        probabilities = np.zeros((len(X), len(GRADES)))
        probabilities[:, self.model.classes_] = votes
        return probabilities

    def save(self, path: Path) -> None:
        joblib.dump(self.model, path, compress=3)

    def load(self, path: Path) -> None:
        self.model = joblib.load(path)

    def hyperparameters(self) -> dict:
        o = self.options
        return {
            "n_estimators": o.n_estimators,
            "criterion": "gini",
            "class_weight": o.class_weight,
            "seed": o.seed,
        }


CLASSIFIERS: dict[str, type[KLClassifier]] = {
    c.kind: c for c in (MobileNetV2Classifier, CNNClassifier, ForestClassifier)
}
"""Model kinds by their id: ``mobilenetv2``, ``cnn``, ``rf``."""
