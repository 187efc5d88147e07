"""How a trained model serves: what it reads, its head, flip averaging, temperature, and where
Grad-CAM cuts it. What a model card stores as ``config`` and ``load_bundle`` builds from;
how it was trained (``TrainOptions``) is recorded beside it but never needed to serve."""

from dataclasses import asdict, dataclass, replace

from kneegrade_ml.preprocess import InputSpec

HEADS = ("linear", "corn")
POOLS = ("avg", "gem")


@dataclass(frozen=True)
class ModelConfig:
    """One model's serving configuration; the defaults are the SPEC's."""

    kind: str
    input: InputSpec
    head: str = "linear"
    """The output layer: ``linear`` is Linear(features, 5), a logit per grade; ``corn`` is
    Linear(features, 4), the conditional logits of grade > k given grade >= k, turned into the five
    grades' log-probabilities (``networks.ContinuationRatio``), so the grades are ordered."""
    pool: str = "avg"
    """How the pretrained networks pool their last feature maps: the average (``avg``) or a
    generalised mean with a learned power (``gem``, ``networks.GeneralizedMeanPool``)."""
    trainable_from: int | None = None
    """MobileNetV2: ``features[:n]`` is the frozen trunk, ``features[n:]`` the trained head
    (the weights' layout depends on it); None for the others."""
    tta_flip: bool = False
    """Average the logits of the image and its mirror."""
    temperature: float = 1.0
    """Logits are divided by it before the softmax (1: uncalibrated)."""
    cam_after: int | None = None
    """Grad-CAM reads the activations after ``features[cam_after]``; None where there is none."""
    members: tuple["ModelConfig", ...] = ()
    """An ensemble's members, each as it serves alone; empty for a single model."""

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature!r}")
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r} (known: {', '.join(HEADS)})")
        if self.pool not in POOLS:
            raise ValueError(
                f"unknown pooling {self.pool!r} (known: {', '.join(POOLS)})"
            )

    def with_temperature(self, temperature: float) -> "ModelConfig":
        return replace(self, temperature=float(temperature))

    def to_dict(self) -> dict:
        """The config as a card stores it; a single model's has no ``members``."""
        data = {**asdict(self), "input": self.input.to_dict()}
        del data["members"]
        if self.members:
            data["members"] = [member.to_dict() for member in self.members]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        members = tuple(cls.from_dict(m) for m in data.get("members", ()))
        return cls(
            **{**data, "input": InputSpec.from_dict(data["input"]), "members": members}
        )
