"""The inference interface the API calls: load a model directory once, grade images.

Routes never touch torch or scikit-learn: they hand over bytes, a path or a PIL image and get
back the five probabilities, the grade and its name, and on request a heatmap.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from kneegrade_ml.bundle import load_bundle
from kneegrade_ml.data.images import read_image
from kneegrade_ml.grades import grade_name
from kneegrade_ml.models.base import TorchClassifier

ImageSource = Image.Image | bytes | Path | str


@dataclass(frozen=True)
class Prediction:
    """One graded image: probabilities indexed by grade (sum 1), the argmax grade and its name."""

    grade: int
    name: str
    confidence: float
    probabilities: tuple[float, ...]

    @classmethod
    def from_probabilities(cls, probabilities: np.ndarray) -> "Prediction":
        p = np.asarray(probabilities, dtype=np.float64)
        p = p / p.sum()
        grade = int(p.argmax())
        return cls(
            grade, grade_name(grade), float(p[grade]), tuple(float(x) for x in p)
        )


ENGINES = ("torch", "onnx")
"""How a network runs its forward passes; ONNX Runtime falls back to torch where it cannot."""


class Predictor:
    """A loaded model, ready to grade: ``Predictor(model_dir)`` once, then ``predict``.

    ``engine="onnx"`` runs the networks' forward passes on ONNX Runtime: the release's int8
    network where it has one and this CPU reproduces its check answers, else the float32 export
    checked against torch; the Random Forest and Grad-CAM run as they always do.
    """

    def __init__(self, directory: Path | str, engine: str = "torch"):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r} (one of {', '.join(ENGINES)})")
        self.directory = Path(directory)
        self.classifier, self.card = load_bundle(self.directory)
        self.forward = None
        if engine == "onnx" and isinstance(self.classifier, TorchClassifier):
            from kneegrade_ml.onnx_engine import int8_forward, onnx_forward

            self.forward = int8_forward(
                self.classifier, self.directory, self.card
            ) or onnx_forward(self.classifier)

    @property
    def kind(self) -> str:
        return self.classifier.kind

    @property
    def engine(self) -> str:
        """What runs the forward passes: ``onnx`` or ``torch``."""
        return "onnx" if self.forward is not None else "torch"

    @property
    def precision(self) -> str:
        """The arithmetic of the forward passes: ``int8`` or ``float32``."""
        return getattr(self.forward, "precision", "float32")

    def pixels(self, images: Sequence[ImageSource]) -> torch.Tensor:
        """Decode (if needed) and resize images to the model's uint8 input batch."""
        return self.classifier.spec.resize_all([_decode(im) for im in images])

    def predict_proba(self, images: Sequence[ImageSource]) -> np.ndarray:
        """Probabilities (N, 5) for a batch of images."""
        return self.predict_pixels(self.pixels(images))

    def predict_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        """Probabilities (N, 5) for uint8 pixels at the model's input size, as served."""
        if self.forward is None:
            return self.classifier.predict_pixels(pixels)
        return self.classifier.predict_pixels(pixels, forward=self.forward)

    def predict_batch(self, images: Sequence[ImageSource]) -> list[Prediction]:
        return [Prediction.from_probabilities(p) for p in self.predict_proba(images)]

    def predict(self, image: ImageSource) -> Prediction:
        return self.predict_batch([image])[0]

    def explain(self, image: ImageSource, grade: int | None = None) -> np.ndarray:
        """A heatmap (height, width) in [0, 1] over the image: where the model looked for ``grade``.

        Pass the prediction's grade (``predict`` may average the mirror image in); by default the
        top grade of the image alone. The Random Forest's map is its pixel importances.
        Grad-CAM is imported here, on first use: it pulls in pyplot, about 1 s.
        """
        from kneegrade_ml.explain import heatmaps

        return heatmaps.explain(self.classifier, _decode(image), grade)


def _decode(image: ImageSource) -> Image.Image:
    """A PIL image as given, anything else decoded to 8-bit grayscale."""
    return image if isinstance(image, Image.Image) else read_image(image)
