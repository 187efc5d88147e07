"""The SPEC's networks: shapes, what is frozen, and where ImageNet weights come from."""

import pytest
import torch
from torchvision.models import mobilenet_v2

from kneegrade_ml.models import networks
from kneegrade_ml.models.networks import (
    ContinuationRatio,
    GeneralizedMeanPool,
    KneeOACNN,
    MobileNetV2KL,
    PretrainedWeightsError,
    grade_layer,
    imagenet_mobilenet_v2,
    pooling_layer,
)


def test_mobilenet_outputs_five_grades_and_trains_only_the_last_five_blocks():
    model = MobileNetV2KL(mobilenet_v2())
    assert model(torch.zeros(2, 3, 224, 224)).shape == (2, 5)
    assert len(model.trunk) == 14
    assert not any(p.requires_grad for p in model.trunk.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    dropout, linear = model.head[-2], model.head[-1]
    assert dropout.p == 0.5 and (linear.in_features, linear.out_features) == (1280, 5)


def test_a_new_model_already_has_its_trunk_in_eval_mode():
    model = MobileNetV2KL(mobilenet_v2())
    assert not model.trunk.training
    before = {k: v.clone() for k, v in model.trunk.state_dict().items()}
    with torch.inference_mode():
        model.trunk(torch.randn(4, 3, 224, 224))
    for key, value in model.trunk.state_dict().items():
        assert torch.equal(value, before[key]), (
            f"{key} changed: BatchNorm ran in train mode"
        )


def test_frozen_trunk_stays_in_eval_mode_so_its_output_can_be_cached():
    model = MobileNetV2KL(mobilenet_v2()).train()
    assert not model.trunk.training and model.head.training
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        in_training = model.trunk(x)
        model.eval()
        in_eval = model.trunk(x)
    torch.testing.assert_close(in_training, in_eval)


def test_custom_cnn_matches_the_spec():
    model = KneeOACNN()
    assert model(torch.zeros(3, 1, 128, 128)).shape == (3, 5)
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256]
    assert model.classifier[1].in_features == 256 * 8 * 8


def test_pretrained_state_dict_is_loaded(fake_pretrained):
    model = imagenet_mobilenet_v2(fake_pretrained)
    expected = torch.load(fake_pretrained, weights_only=True)
    torch.testing.assert_close(
        model.state_dict()["features.0.0.weight"], expected["features.0.0.weight"]
    )


def test_missing_or_wrong_pretrained_file_is_a_clear_error(tmp_path):
    with pytest.raises(PretrainedWeightsError, match="does not exist"):
        imagenet_mobilenet_v2(tmp_path / "nowhere.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a state dict")
    with pytest.raises(PretrainedWeightsError, match="not a torchvision MobileNetV2"):
        imagenet_mobilenet_v2(junk)


def test_without_weights_or_internet_training_stops_with_a_clear_message(monkeypatch):
    def offline(weights=None):
        raise OSError("network is unreachable")

    monkeypatch.setattr(networks, "mobilenet_v2", offline)
    with pytest.raises(PretrainedWeightsError, match="KNEEGRADE_PRETRAINED"):
        imagenet_mobilenet_v2(None)


@pytest.mark.parametrize("block", [-1, 19])
def test_trainable_from_must_name_a_block(block):
    with pytest.raises(ValueError, match="trainable_from"):
        MobileNetV2KL(trainable_from=block)


def test_continuation_ratios_give_ordered_grade_probabilities():
    logits = torch.tensor([[2.0, 0.5, -1.0, -3.0], [-4.0, 0.0, 0.0, 0.0]])
    log_p = ContinuationRatio()(logits)
    p = log_p.exp()
    torch.testing.assert_close(p.sum(1), torch.ones(2))
    up = torch.sigmoid(logits)
    # P(grade 2) = P(>0) P(>1 | >=1) P(=2 | >=2)
    torch.testing.assert_close(p[0, 2], up[0, 0] * up[0, 1] * (1 - up[0, 2]))
    torch.testing.assert_close(p[0, 4], up[0].prod())
    assert p[1].argmax() == 0  # a very low first logit keeps the knee at grade 0


def test_cross_entropy_on_the_ordinal_output_is_corns_binary_loss():
    """The negative log-likelihood of grade y sums the binary cross-entropies of the tasks
    'grade > k' that y takes part in (k <= y), CORN's training signal."""
    logits = torch.randn(6, 4)
    grades = torch.tensor([0, 1, 2, 3, 4, 2])
    nll = torch.nn.functional.cross_entropy(
        ContinuationRatio()(logits), grades, reduction="none"
    )
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = torch.stack(
        [
            sum(
                bce(logits[i, k], (grades[i] > k).float()) for k in range(min(y + 1, 4))
            )
            for i, y in enumerate(grades.tolist())
        ]
    )
    torch.testing.assert_close(nll, expected)


def test_an_unknown_head_is_refused():
    with pytest.raises(ValueError, match="unknown head"):
        grade_layer(8, "softmax-tree")


def test_gem_pooling_spans_the_average_to_the_maximum_and_learns_its_power():
    maps = torch.rand(2, 3, 7, 7) * 6  # ReLU6 features
    maps[0, 0, 3, 3] = 6.0  # one strong spot, as an osteophyte might give
    pool = GeneralizedMeanPool()
    with torch.no_grad():
        pool.p.fill_(1.0)
        torch.testing.assert_close(pool(maps), maps.mean((-2, -1), keepdim=True))
        pool.p.fill_(40.0)
        torch.testing.assert_close(
            pool(maps), maps.amax((-2, -1), keepdim=True), rtol=0.1, atol=0
        )
    cubic = GeneralizedMeanPool()(maps)
    assert (cubic > maps.mean((-2, -1), keepdim=True)).all()  # p = 3 leans to the peaks
    cubic.sum().backward()
    assert cubic.shape == (2, 3, 1, 1)
    assert pooling_layer("gem").p.requires_grad


def test_a_network_pools_as_asked_and_an_unknown_pooling_is_refused():
    assert isinstance(MobileNetV2KL(pool="gem").head[1], GeneralizedMeanPool)
    assert isinstance(MobileNetV2KL().head[1], torch.nn.AdaptiveAvgPool2d)
    with pytest.raises(ValueError, match="unknown pooling"):
        pooling_layer("median")
