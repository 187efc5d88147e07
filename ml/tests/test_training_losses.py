"""The grade-distance loss charges far-off grades more than neighbours."""

import pytest
import torch
from torch import nn

from kneegrade_ml.training.losses import (
    DistillationLoss,
    GradeDistanceLoss,
    grade_distance_matrix,
)


def test_distance_matrix_is_squared_grade_difference():
    cost = grade_distance_matrix()
    assert cost[0, 4] == 16 and cost[3, 2] == 1 and cost.diagonal().sum() == 0
    assert torch.equal(cost, cost.T)


def test_without_distance_weight_it_is_cross_entropy():
    torch.manual_seed(0)
    logits, target = torch.randn(16, 5), torch.randint(5, (16,))
    weight = torch.tensor([0.5, 1.0, 2.0, 1.5, 3.0])
    ours = GradeDistanceLoss(0.0, weight)(logits, target)
    torch.testing.assert_close(ours, nn.CrossEntropyLoss(weight=weight)(logits, target))


def test_far_mistakes_cost_more_than_near_ones():
    loss = GradeDistanceLoss(distance_weight=1.0)
    target = torch.tensor([0])
    near = torch.tensor([[0.0, 5.0, 0.0, 0.0, 0.0]])  # confident grade 1
    far = torch.tensor([[0.0, 0.0, 0.0, 0.0, 5.0]])  # equally confident grade 4
    assert loss(far, target) > loss(near, target) + 5
    # plain cross-entropy cannot tell the two apart
    ce = nn.CrossEntropyLoss()
    assert ce(far, target) == pytest.approx(ce(near, target).item())


def test_expected_distance_matches_hand_computation():
    loss = GradeDistanceLoss(distance_weight=1.0)
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25, 1e-12, 1e-12]]))
    # CE -log 0.5, plus 0.25 * 1 + 0.25 * 4 for grade-0 target
    expected = -torch.log(torch.tensor(0.5)) + 0.25 + 1.0
    torch.testing.assert_close(loss(logits, torch.tensor([0])), expected)


def test_gradient_flows_to_logits():
    logits = torch.randn(4, 5, requires_grad=True)
    GradeDistanceLoss(0.5)(logits, torch.tensor([0, 1, 3, 4])).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_distillation_mixes_the_label_loss_and_the_teachers_divergence():
    torch.manual_seed(0)
    logits, target = torch.randn(16, 5), torch.randint(5, (16,))
    teacher = torch.softmax(torch.randn(16, 5), 1)
    hard = nn.CrossEntropyLoss()
    divergence = nn.KLDivLoss(reduction="batchmean")(
        torch.log_softmax(logits, 1), teacher
    )
    torch.testing.assert_close(
        DistillationLoss(hard, 0.0)(logits, target, teacher), hard(logits, target)
    )
    torch.testing.assert_close(
        DistillationLoss(hard, 1.0)(logits, target, teacher), divergence
    )
    torch.testing.assert_close(
        DistillationLoss(hard, 0.25)(logits, target, teacher),
        0.75 * hard(logits, target) + 0.25 * divergence,
    )
    own = torch.log_softmax(logits, 1).exp()
    assert DistillationLoss(hard, 1.0)(logits, target, own) < 1e-6
