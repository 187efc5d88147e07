"""An ensemble of trained networks served as one model: the mean of its members' calibrated
probabilities, each member reading the image as it was trained to (its own normalisation and
flip averaging).

The members' weights live in one ``model.pt`` and their serving configurations in the
ensemble's, so an ensemble directory is self-contained like any other and runs as one ONNX
graph. Ensembles are built from trained models (``kneegrade ensemble``), never trained.
"""

from collections.abc import Sequence

import torch
from torch import nn

from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.registry import create_classifier, display_name
from kneegrade_ml.preprocess import unit_rgb

MIN_MEMBERS = 2


class _Member(nn.Module):
    """One member as it serves alone: its normalisation, network, flip averaging, temperature."""

    def __init__(self, member: TorchClassifier):
        super().__init__()
        spec, self.config = member.spec, member.config
        shape = (1, spec.channels, 1, 1)
        self.network = member.network
        self.register_buffer("mean", torch.tensor(spec.mean).view(shape))
        self.register_buffer("std", torch.tensor(spec.std).view(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Calibrated probabilities (N, 5) from pixels in 0-1 (N, 3, size, size)."""
        z = (x[:, : self.config.input.channels] - self.mean) / self.std
        if self.config.tta_flip:
            both = self.network(torch.cat([z, z.flip(-1)]))
            logits = both.reshape(2, -1, both.shape[1]).mean(0)  # any batch in ONNX
        else:
            logits = self.network(z)
        return torch.softmax(logits / self.config.temperature, dim=1)


class EnsembleNetwork(nn.Module):
    """Pixels in 0-1 (N, 3, size, size) -> the log of the members' mean probabilities (N, 5),
    so a softmax of its output gives that mean back."""

    def __init__(self, members: Sequence[TorchClassifier]):
        super().__init__()
        self.members = nn.ModuleList(_Member(member) for member in members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(0).log()


class EnsembleClassifier(TorchClassifier):
    """Several trained networks graded together; its own temperature recalibrates the mean."""

    kind = "ensemble"

    def __init__(
        self, config: ModelConfig, members: Sequence[TorchClassifier] | None = None
    ):
        """``members`` as trained; without them, untrained ones built from the config's
        member configs, which suits loading a saved ensemble only."""
        super().__init__(config)
        if members is None:
            members = [create_classifier(m.kind, m) for m in config.members]
        if len(members) < MIN_MEMBERS:
            raise ValueError(
                f"an ensemble needs at least {MIN_MEMBERS} members, got {len(members)}"
            )
        for member in members:
            if not isinstance(member, TorchClassifier):
                raise TypeError(
                    f"{member.kind} is not a network: it cannot be a member"
                )
            if member.spec.size != self.spec.size:
                raise ValueError(
                    f"a {member.kind} member reads {member.spec.size} px, the ensemble"
                    f" {self.spec.size} px"
                )
            if member.spec.standardize != self.spec.standardize:
                raise ValueError(
                    f"a {member.kind} member standardises its input as"
                    f" {member.spec.standardize!r}, the ensemble as"
                    f" {self.spec.standardize!r}"
                )
        self.members = list(members)
        self.network = EnsembleNetwork(self.members).eval()

    @classmethod
    def of(cls, members: Sequence[TorchClassifier]) -> "EnsembleClassifier":
        """The ensemble of trained ``members``, uncalibrated (temperature 1)."""
        first = members[0].spec if members else unit_rgb(0)
        config = ModelConfig(
            cls.kind,
            unit_rgb(first.size, first.standardize),
            members=tuple(member.config for member in members),
        )
        return cls(config, members)

    @property
    def architecture(self) -> str:
        names = ", ".join(display_name(m.kind) for m in self.members)
        return (
            f"mean of the calibrated probabilities of {len(self.members)} networks"
            f" ({names}), each with its own input normalisation and flip averaging"
        )

    def parts(self) -> tuple[nn.Module, nn.Module]:
        """All of it is frozen: an ensemble is built from trained members, not trained."""
        return self.network, nn.Identity()

    def cam_split(self) -> tuple[nn.Module, nn.Module]:
        """There is no single layer to cut: the heatmap is the mean of the members'."""
        raise TypeError(
            "an ensemble's Grad-CAM is its members' mean (heatmaps.explain)"
        )
