"""A 100-tree Gini Random Forest on the flattened 128x128 pixels; votes as probabilities."""

from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier

from kneegrade_ml.grades import GRADES
from kneegrade_ml.models.base import KLClassifier
from kneegrade_ml.models.config import ModelConfig


class ForestClassifier(KLClassifier):
    """scikit-learn's forest, fit and predicted on ``encode``d pixels (scikit-learn's API)."""

    kind = "rf"
    weights_file = "model.joblib"
    architecture = (
        "scikit-learn RandomForestClassifier on 16,384 flattened 128x128 pixels"
    )

    def __init__(
        self,
        config: ModelConfig,
        model: RandomForestClassifier | None = None,
    ):
        super().__init__(config)
        if self.config.tta_flip or self.config.temperature != 1.0:
            raise ValueError(
                "flip averaging and calibration are for the neural networks; the Random "
                "Forest grades the image as it is"
            )
        self.model = model if model is not None else RandomForestClassifier()

    def encode(self, pixels: torch.Tensor) -> np.ndarray:
        return self.spec.normalize(pixels).flatten(1).numpy()

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ForestClassifier":
        self.model.fit(X, np.asarray(y))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Tree-vote fractions, placed in five columns even if a grade was absent in training."""
        votes = self.model.predict_proba(X)
        probabilities = np.zeros((len(X), len(GRADES)))
        probabilities[:, self.model.classes_] = votes
        return probabilities

    def predict_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        return self.predict_proba(self.encode(pixels))

    def save(self, path: Path) -> None:
        joblib.dump(self.model, path, compress=3)

    def load(self, path: Path) -> None:
        self.model = joblib.load(path)
