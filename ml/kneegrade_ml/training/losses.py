"""Losses for KL grades, which are ordered: calling a grade 4 knee grade 3 is a smaller error than 0."""

import torch
from torch import nn
from torch.nn import functional as F

from kneegrade_ml.grades import GRADES


def grade_distance_matrix(power: float = 2.0) -> torch.Tensor:
    """cost[true, predicted] = |true - predicted| ** power (power 2 matches quadratic kappa)."""
    grades = torch.tensor(GRADES, dtype=torch.float32)
    return (grades[:, None] - grades[None, :]).abs() ** power


def soft_ordinal_targets(spread: float) -> torch.Tensor:
    """targets[true] = softmax over k of -(k - true)^2 / ``spread`` (SORD); 0 gives one-hot rows.

    A grade's label then lends a little of its weight to its neighbours, and almost none to far
    grades, as readers who disagree on a knee mostly disagree by one grade.
    """
    if spread < 0:
        raise ValueError(f"the soft labels' spread must be 0 or more, not {spread}")
    if spread == 0:
        return torch.eye(len(GRADES))
    return torch.softmax(-grade_distance_matrix(2.0) / spread, dim=1)


class GradeDistanceLoss(nn.Module):
    """Cross-entropy plus ``distance_weight`` times the expected grade distance.

    The expected distance, sum over k of p(k) * |k - y|^2, charges probability placed far from the
    true grade more than probability on a neighbour, the ordinal (grade-distance-weighted) loss of
    the SPEC's roadmap. Cross-entropy keeps the argmax sharp; ``weight`` weights samples per grade.
    With ``label_spread`` above 0 the cross-entropy is taken against soft ordinal targets.
    """

    def __init__(
        self,
        distance_weight: float = 0.1,
        weight: torch.Tensor | None = None,
        power: float = 2.0,
        label_spread: float = 0.0,
    ):
        super().__init__()
        self.distance_weight = distance_weight
        self.register_buffer("cost", grade_distance_matrix(power))
        self.register_buffer("targets", soft_ordinal_targets(label_spread))
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits, dim=1)
        sample_weight = (
            self.weight[target]
            if self.weight is not None
            else torch.ones_like(target, dtype=log_p.dtype)
        )
        cross_entropy = -(self.targets[target] * log_p).sum(1)
        distance = (log_p.exp() * self.cost[target]).sum(1)
        per_sample = cross_entropy + self.distance_weight * distance
        return (sample_weight * per_sample).sum() / sample_weight.sum()


class DistillationLoss(nn.Module):
    """(1 - ``weight``) x the ``hard`` loss on the grades + ``weight`` x KL(teacher || model).

    The teacher's probabilities (an ensemble's mean) say how far each image leans towards its
    neighbouring grades, which a single grade label cannot: the model learns that spread.
    """

    def __init__(self, hard: nn.Module, weight: float):
        super().__init__()
        self.hard = hard
        self.weight = weight

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, teacher: torch.Tensor
    ) -> torch.Tensor:
        soft = F.kl_div(F.log_softmax(logits, dim=1), teacher, reduction="batchmean")
        return (1 - self.weight) * self.hard(logits, target) + self.weight * soft
