"""The grade-distance loss charges far-off grades more than neighbours; soft labels spread a
grade's target to its neighbours."""

import pytest
import torch
from torch import nn

from kneegrade_ml.training.loop import TrainOptions, build_loss
from kneegrade_ml.training.losses import (
    DistillationLoss,
    GradeDistanceLoss,
    grade_distance_matrix,
    soft_ordinal_targets,
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


def test_soft_ordinal_targets_lend_weight_to_neighbours_by_squared_distance():
    assert torch.equal(soft_ordinal_targets(0), torch.eye(5))
    targets = soft_ordinal_targets(0.5)
    torch.testing.assert_close(targets.sum(1), torch.ones(5))
    e2, e8 = torch.exp(torch.tensor(-2.0)), torch.exp(torch.tensor(-8.0))
    inner = torch.stack([e8, e2, torch.tensor(1.0), e2, e8]) / (1 + 2 * e2 + 2 * e8)
    # about 0.79 on the grade, 0.11 beside it
    torch.testing.assert_close(targets[2], inner)
    torch.testing.assert_close(targets.flip(0, 1), targets)  # grade 0 mirrors grade 4
    assert targets[0].argmax() == 0 and targets[0, 1] > targets[0, 2] > targets[0, 4]


def test_with_soft_labels_the_loss_is_least_at_the_soft_target():
    loss = GradeDistanceLoss(0.0, label_spread=0.5)
    target = torch.tensor([1])
    at_target = soft_ordinal_targets(0.5)[1].log()[None].requires_grad_()
    loss(at_target, target).backward()
    torch.testing.assert_close(at_target.grad, torch.zeros(1, 5))
    one_hot = torch.tensor([[0.0, 9.0, 0.0, 0.0, 0.0]])
    assert loss(one_hot, target) > loss(at_target, target)


def test_soft_labels_are_refused_below_zero_and_without_the_grade_distance_loss():
    with pytest.raises(ValueError, match="spread"):
        soft_ordinal_targets(-0.5)
    labels = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="grade-distance"):
        build_loss(TrainOptions(label_spread=0.5), labels)
    spread = build_loss(TrainOptions(loss="grade-distance", label_spread=0.5), labels)
    torch.testing.assert_close(spread.targets, soft_ordinal_targets(0.5))
