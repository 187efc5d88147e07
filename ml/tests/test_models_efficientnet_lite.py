"""EfficientNet-Lite's training-only stochastic depth: where it acts and where it must not."""

from functools import partial

import pytest
import torch
from efficientnet_lite_pytorch import EfficientNet

from kneegrade_ml.models.efficientnet_lite import EfficientNetLiteKL

TRAINABLE_FROM = 4


@pytest.fixture
def network() -> EfficientNetLiteKL:
    torch.manual_seed(0)
    return EfficientNetLiteKL(
        EfficientNet.from_name("efficientnet-lite0"), TRAINABLE_FROM
    )


def _blocks_output(network: EfficientNetLiteKL, x: torch.Tensor, seed: int = 0):
    torch.manual_seed(seed)
    with torch.no_grad():
        return network.head[0](network.trunk(x))


def test_rates_rise_with_depth_over_the_trained_blocks_only(network):
    network.set_stochastic_depth(0.2)
    seen: dict[int, float] = {}

    def record(index: int, module, args, kwargs) -> None:
        seen[index] = kwargs["drop_connect_rate"]

    trained = list(network.head[0])[:-1]
    for index, block in enumerate(trained, start=TRAINABLE_FROM):
        # registered after the rate's hook, so it sees the rate
        block.register_forward_pre_hook(partial(record, index), with_kwargs=True)
    _blocks_output(network.eval(), torch.randn(1, 3, 64, 64))
    assert len(seen) == network.block_count - TRAINABLE_FROM
    assert seen == {i: pytest.approx(0.2 * i / network.block_count) for i in seen}


def test_it_changes_training_passes_only_and_switches_off(network):
    x = torch.randn(4, 3, 64, 64)
    in_training = _blocks_output(network.train(), x)
    in_eval = _blocks_output(network.eval(), x)
    network.set_stochastic_depth(0.5)
    torch.testing.assert_close(_blocks_output(network.eval(), x), in_eval)
    assert not torch.allclose(_blocks_output(network.train(), x), in_training)
    network.set_stochastic_depth(0)
    torch.testing.assert_close(_blocks_output(network.train(), x), in_training)


def test_the_saved_weights_keep_their_names(network):
    keys = list(network.state_dict())
    network.set_stochastic_depth(0.2)
    assert list(network.state_dict()) == keys


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_a_rate_outside_zero_to_one_is_refused(network, rate):
    with pytest.raises(ValueError, match="stochastic depth rate"):
        network.set_stochastic_depth(rate)
