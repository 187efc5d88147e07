"""How a trained model serves: what it reads, its head, flip averaging, temperature, and where
Grad-CAM cuts it. What a model card stores as ``config`` and ``load_bundle`` builds from;
how it was trained (``TrainOptions``) is recorded beside it but never needed to serve."""

from dataclasses import asdict, dataclass, replace

from kneegrade_ml.preprocess import InputSpec


@dataclass(frozen=True)
class ModelConfig:
    """One model's serving configuration; the defaults are the SPEC's."""

    kind: str
    input: InputSpec
    head: str = "linear"
    """The output layer: ``linear`` is Dropout(0.5) -> Linear(features, 5), softmax over grades."""
    trainable_from: int | None = None
    """MobileNetV2: ``features[:n]`` is the frozen trunk, ``features[n:]`` the trained head
    (the weights' layout depends on it); None for the others."""
    tta_flip: bool = False
    """Average the logits of the image and its mirror."""
    temperature: float = 1.0
    """Logits are divided by it before the softmax (1: uncalibrated)."""
    cam_after: int | None = None
    """Grad-CAM reads the activations after ``features[cam_after]``; None where there is none."""

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature!r}")
        if self.head != "linear":
            raise ValueError(f"unknown head {self.head!r} (known: linear)")

    def with_temperature(self, temperature: float) -> "ModelConfig":
        return replace(self, temperature=float(temperature))

    def to_dict(self) -> dict:
        return {**asdict(self), "input": self.input.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        return cls(**{**data, "input": InputSpec.from_dict(data["input"])})
