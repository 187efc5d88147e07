"""Everything a server needs from the ML package, in one place: the API imports nothing else.

Load a model directory (``Predictor``) and the knee localiser, grade and explain every knee of an
image, read uploads (DICOM too, with its laterality), draw heatmaps, and say what a model is (``ModelInfo``), what its kind is called and what its heatmap
shows (the registry), and when a grade needs review.
"""

from kneegrade_ml.bundle import CARD_FILE, ModelLoadError
from kneegrade_ml.data.dicom import (
    DicomError,
    DicomTooLarge,
    UnsupportedDicom,
    is_dicom,
    read_dicom,
)
from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.images import read_image
from kneegrade_ml.explain.render import (
    colour_layer_png,
    heatmap_png,
    overlay_png,
    read_heatmap_png,
)
from kneegrade_ml.grades import GRADE_NAMES, GRADES, grade_name
from kneegrade_ml.knees import (
    GradedKnee,
    NoKneeFound,
    explain_knee,
    grade_knees,
    knee_crop,
)
from kneegrade_ml.localise.hints import knee_hints
from kneegrade_ml.localise.joints import Joint, crop_joint, whole_image
from kneegrade_ml.localise.localiser import ImageHints, Localiser
from kneegrade_ml.modelcard import ModelInfo, model_warning
from kneegrade_ml.models.registry import DEFAULT_KIND, display_name, heatmap_caption
from kneegrade_ml.predictor import Prediction, Predictor
from kneegrade_ml.review import ReviewFlag, review_flag
from kneegrade_ml.runtime import configure_cpu, release_free_memory

__all__ = [
    "CARD_FILE",
    "DEFAULT_KIND",
    "GRADES",
    "GRADE_NAMES",
    "DatasetError",
    "DicomError",
    "DicomTooLarge",
    "GradedKnee",
    "ImageHints",
    "Joint",
    "Localiser",
    "ModelInfo",
    "ModelLoadError",
    "NoKneeFound",
    "Prediction",
    "Predictor",
    "ReviewFlag",
    "UnsupportedDicom",
    "colour_layer_png",
    "configure_cpu",
    "crop_joint",
    "display_name",
    "explain_knee",
    "grade_knees",
    "grade_name",
    "heatmap_caption",
    "heatmap_png",
    "is_dicom",
    "knee_crop",
    "knee_hints",
    "model_warning",
    "overlay_png",
    "read_dicom",
    "read_heatmap_png",
    "read_image",
    "release_free_memory",
    "review_flag",
    "whole_image",
]
