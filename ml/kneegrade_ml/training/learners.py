"""How each kind of classifier learns, on data encoded once: the engine above ``models/``.

A learner encodes pixels into what its classifier trains on (MobileNetV2's frozen trunk runs once
per image, not once per epoch), fits, and predicts on encoded data, so training and
cross-validation share the expensive part.
"""

from functools import partial
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from kneegrade_ml.models.base import KLClassifier, TorchClassifier
from kneegrade_ml.models.forest import ForestClassifier
from kneegrade_ml.models.outputs import module_logits, softmax_with_temperature
from kneegrade_ml.training.augment import augment_batch, radiograph_augmentation
from kneegrade_ml.training.loop import EpochLog, TrainOptions, Views, fit_module
from kneegrade_ml.training.probe import fit_grade_layer, grade_layer_inputs

TRUNK_CHUNK = 8
"""Images per trunk pass: small enough that activations stay in the malloc heap (see runtime)."""


class Learner(Protocol):
    classifier: KLClassifier

    def encode(self, pixels: torch.Tensor, progress: bool = False) -> Any: ...

    def encode_views(self, pixels: torch.Tensor, progress: bool = False) -> Any: ...

    def fit(
        self,
        X: Any,
        y: torch.Tensor,
        validation=None,
        progress: bool = True,
        teacher: torch.Tensor | None = None,
    ) -> list[EpochLog]: ...

    def predict_proba(self, X: Any) -> np.ndarray: ...


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


class NetworkLearner:
    """Trains a network's trainable part, on cached trunk features or, with online
    augmentation, on pixels redrawn every batch through the whole (partly frozen) network."""

    def __init__(
        self,
        classifier: TorchClassifier,
        options: TrainOptions,
        device: torch.device | str = "cpu",
    ):
        if options.augment_views and options.augment_online:
            raise ValueError("choose augmented views or online augmentation, not both")
        # builds the views' transform once, so bad choices are refused before any image is read
        radiograph_augmentation(options.augment, options.positioning, options.erase)
        chosen = _augmentation_choices(options)
        if chosen and not (options.augment_views or options.augment_online):
            raise ValueError(
                "augmented views or online augmentation are needed for "
                + " and ".join(chosen)
            )
        if options.drop_path:
            classifier.set_stochastic_depth(options.drop_path)
        self.stages = None
        if options.layer_decay != 1:
            self.stages = [
                [p for p in stage.parameters() if p.requires_grad]
                for stage in classifier.trained_stages()
            ]
        self.classifier = classifier
        self.options = options
        self.device = device
        self.frozen, trainable = classifier.parts()
        if options.augment_online or self.frozen is None:
            self.frozen = None
            self.module, self.prepare = classifier.network, classifier.network_input
        else:
            self.module, self.prepare = trainable, _identity

    def encode(self, pixels: torch.Tensor, progress: bool = False) -> torch.Tensor:
        """The frozen trunk's output, computed once; the pixels when there is none to cache."""
        if self.frozen is None:
            return pixels
        self.frozen.to(self.device)
        chunks = []
        with torch.inference_mode():
            for start in tqdm(
                range(0, len(pixels), TRUNK_CHUNK),
                desc="trunk features",
                leave=False,
                disable=not progress,
            ):
                batch = pixels[start : start + TRUNK_CHUNK].to(self.device)
                chunks.append(self.frozen(self.classifier.network_input(batch)).cpu())
        return torch.cat(chunks)

    def _augment(
        self, pixels: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """A fresh view of each image, drawn as the options say."""
        o = self.options
        return augment_batch(pixels, generator, o.augment, o.positioning, o.erase)

    def encode_views(self, pixels: torch.Tensor, progress: bool = False):
        """The encoded images, plus ``augment_views`` seeded augmented copies as ``Views``."""
        encoded = self.encode(pixels, progress)
        if not self.options.augment_views:
            return encoded
        generator = torch.Generator().manual_seed(self.options.seed)
        augmented = (
            self.encode(self._augment(pixels, generator), progress)
            for _ in tqdm(
                range(self.options.augment_views),
                desc="augmented views",
                leave=False,
                disable=not progress,
            )
        )
        return Views(torch.stack([encoded, *augmented]))

    def fit(self, X, y, validation=None, progress=True, teacher=None) -> list[EpochLog]:
        if self.options.linear_probe:
            losses = self.probe(X, y)
            if progress:
                tqdm.write(f"linear probe: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
        augment = None
        if self.options.augment_online:
            generator = torch.Generator().manual_seed(self.options.seed)
            augment = partial(self._augment, generator=generator)
        return fit_module(
            self.module,
            X,
            y,
            self.options,
            self.prepare,
            validation,
            self.classifier.kind,
            progress,
            augment,
            self.device,
            teacher,
            self.stages,
        )

    def probe(self, X: torch.Tensor | Views, y: torch.Tensor) -> list[float]:
        """Fit the grade layer alone on the features of the images as they are (LP-FT)."""
        images = X.stacked[0] if isinstance(X, Views) else X
        grade_layer = self.classifier.grade_output()
        self.module.to(self.device)
        features = grade_layer_inputs(
            self.module, grade_layer, images, self.prepare, self.device
        )
        return fit_grade_layer(grade_layer, features, y, self.options)

    def predict_proba(self, X: torch.Tensor) -> np.ndarray:
        """Calibrated probabilities of encoded data (no flip averaging: X is already encoded)."""
        logits = module_logits(self.module, X, self.prepare, device=self.device)
        return softmax_with_temperature(
            logits.numpy(), self.classifier.config.temperature
        )


class ForestLearner:
    """scikit-learn's forest on the flattened pixels, with the options' trees and weights."""

    def __init__(self, classifier: ForestClassifier, options: TrainOptions):
        o = options
        if (
            o.augment_views
            or o.augment_online
            or _augmentation_choices(o)
            or o.tta_flip
            or o.calibrate
            or o.head != "linear"
            or o.teachers
            or o.ema_decay
            or o.mixup
            or o.sam_rho
            or o.label_spread
            or o.drop_path
            or o.linear_probe
            or o.layer_decay != 1
        ):
            raise ValueError(
                "augmented views, flip averaging, calibration, the ordinal head,"
                " distillation, the weight average, mixup, sharpness-aware steps, soft labels,"
                " stochastic depth, the linear probe and layer decay are for the neural"
                " networks; the Random Forest trains on the images as they are"
            )
        self.classifier = classifier
        self.options = options

    def encode(self, pixels: torch.Tensor, progress: bool = False) -> np.ndarray:
        return self.classifier.encode(pixels)

    encode_views = encode

    def fit(self, X, y, validation=None, progress=True, teacher=None) -> list[EpochLog]:
        self.classifier.model.set_params(
            n_estimators=self.options.n_estimators,
            criterion="gini",
            class_weight=self.options.class_weight,
            random_state=self.options.seed,
            n_jobs=-1,
            verbose=1 if progress else 0,
        )
        self.classifier.fit(X, y)
        self.classifier.model.set_params(verbose=0)
        return []

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(X)


def learner_for(
    classifier: KLClassifier, options: TrainOptions, device: torch.device | str = "cpu"
) -> Learner:
    """The learner that trains ``classifier`` as ``options`` say."""
    if isinstance(classifier, TorchClassifier):
        return NetworkLearner(classifier, options, device)
    if isinstance(classifier, ForestClassifier):
        return ForestLearner(classifier, options)
    raise TypeError(f"no learner for {type(classifier).__name__}")


def _augmentation_choices(options: TrainOptions) -> list[str]:
    """What the options add to the standard augmentation, in words; each needs augmented views."""
    choices = {
        f"the {options.augment} augmentation": options.augment != "standard",
        f"{options.positioning} positioning": options.positioning != "standard",
        "erasing": bool(options.erase),
    }
    return [name for name, chosen in choices.items() if chosen]
