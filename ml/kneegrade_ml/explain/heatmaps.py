"""Heatmaps of what drove a grade, at the size of the image as given, float32 in [0, 1].

The neural networks get Grad-CAM (pytorch-grad-cam) at their last convolutional block, for one
grade. The Random Forest has no per-image attribution: it gets its pixel importances, the same map
for every image.
"""

from functools import lru_cache

import numpy as np
import torch
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from sklearn.ensemble import RandomForestClassifier
from torch import nn

from kneegrade_ml.explain.render import resize_heatmap
from kneegrade_ml.models.base import KLClassifier, TorchClassifier
from kneegrade_ml.models.ensemble import EnsembleClassifier
from kneegrade_ml.models.forest import ForestClassifier


def explain(
    classifier: KLClassifier, image: Image.Image, grade: int | None = None
) -> np.ndarray:
    """A heatmap (image.height, image.width) of where the model looked for ``grade``.

    ``grade`` defaults to the top grade of the image alone (without flip averaging); pass the
    prediction's grade to explain what was reported. The Random Forest ignores it; an
    ensemble's map is the mean of its members' (pass the ensemble's grade).
    """
    if isinstance(classifier, EnsembleClassifier):
        maps = [explain(member, image, grade) for member in classifier.members]
        return np.mean(maps, axis=0, dtype=np.float32)
    if isinstance(classifier, ForestClassifier):
        small = forest_importance(classifier)
    else:
        small = grad_cam(classifier, classifier.spec.resize(image)[None], grade)[0]
    return resize_heatmap(small, image.size)


def grad_cam(
    classifier: TorchClassifier,
    pixels: torch.Tensor,
    grade: int | None = None,
) -> np.ndarray:
    """Grad-CAM maps (N, h, w) in [0, 1] over uint8 (N, 1, size, size) pixels, at the resolution
    of the target layer (the config's ``cam_after``); for ``grade``, else each image's top grade.

    The network up to the layer runs without gradients, so a frozen trunk costs no backward pass
    and no ``requires_grad`` flag matters; the rest runs from the activations, which require grad.
    The hooks sit on a fresh tap, so concurrent predictions and explanations cannot mix.
    """
    classifier.network.eval()
    front, back = classifier.cam_split()
    with torch.no_grad():
        activations = front(classifier.network_input(pixels))
    tap = nn.Identity()
    targets = None if grade is None else [ClassifierOutputTarget(grade)] * len(pixels)
    with torch.enable_grad():
        cam = GradCAM(nn.Sequential(tap, back), [tap])
        maps = cam(activations.requires_grad_(), targets)
    back.zero_grad(set_to_none=True)
    return maps


def forest_importance(classifier: ForestClassifier) -> np.ndarray:
    """The forest's pixel importances (size, size), the most important pixel 1 (0s if no split)."""
    return _importance_map(classifier.model, classifier.spec.size)


@lru_cache(maxsize=4)
def _importance_map(forest: RandomForestClassifier, size: int) -> np.ndarray:
    """Cached per fitted forest: averaging 100 trees takes tens of ms, and a served model is
    never refit."""
    importances = forest.feature_importances_.reshape(size, size).astype(np.float32)
    peak = importances.max()
    scaled = importances / peak if peak > 0 else importances
    scaled.flags.writeable = False
    return scaled
