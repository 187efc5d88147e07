"""Training writes a self-describing, reproducible model directory."""

import copy
import json
from dataclasses import replace
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from kneegrade_ml.bundle import load_bundle
from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.data.folds import Fold, in_fold
from kneegrade_ml.data.images import read_image
from kneegrade_ml.data.source import dataset_record
from kneegrade_ml.evaluation.evaluate import evaluate_model
from kneegrade_ml.models import networks
from kneegrade_ml.models.networks import PretrainedWeightsError
from kneegrade_ml.models.registry import create_classifier
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.provenance import hardware
from kneegrade_ml.runtime import usable_cores
from kneegrade_ml.training.distill import load_teaching, teach
from kneegrade_ml.training.learners import learner_for
from kneegrade_ml.training.loop import (
    Mixup,
    TrainOptions,
    Views,
    balanced_class_weights,
    class_weights,
    fit_module,
    layer_rates,
)
from kneegrade_ml.training.train import build_classifier, model_config, train_model


def test_balanced_class_weights_match_hand_computation():
    labels = torch.tensor([0, 0, 0, 1, 2, 2])
    # n / (5 * count): 6/15, 6/5, 6/10, and 0 for the absent grades 3 and 4
    expected = torch.tensor([0.4, 1.2, 0.6, 0.0, 0.0])
    torch.testing.assert_close(balanced_class_weights(labels), expected)


def test_sqrt_balanced_weights_are_the_square_root():
    labels = torch.tensor([0, 0, 0, 0, 1])
    torch.testing.assert_close(
        class_weights(labels, "sqrt-balanced"), balanced_class_weights(labels).sqrt()
    )
    assert class_weights(labels, None) is None
    with pytest.raises(ValueError, match="unknown class weighting"):
        class_weights(labels, "inverse")


def _separable(n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    inputs = torch.randn(n, 5)
    return inputs, inputs.argmax(1)


def _fit_linear(inputs, labels, options) -> nn.Linear:
    torch.manual_seed(1)
    module = nn.Linear(5, 5)
    fit_module(module, inputs, labels, options, lambda x: x, progress=False)
    return module


def test_identical_views_train_exactly_like_the_plain_inputs():
    inputs, labels = _separable()
    options = TrainOptions(epochs=3, batch_size=20, learning_rate=0.05)
    plain = _fit_linear(inputs, labels, options)
    viewed = _fit_linear(Views(torch.stack([inputs, inputs])), labels, options)
    torch.testing.assert_close(plain.weight, viewed.weight)


def test_every_view_is_drawn():
    inputs, labels = _separable()
    blank = torch.zeros_like(inputs)
    options = TrainOptions(epochs=20, batch_size=20, learning_rate=0.05)
    module = _fit_linear(Views(torch.stack([blank, inputs])), labels, options)
    assert (module(inputs).argmax(1) == labels).float().mean() > 0.8


@pytest.mark.parametrize(
    "change", [{"loss": "focal"}, {"schedule": "cosine"}], ids=["loss", "schedule"]
)
def test_unknown_loss_or_schedule_is_refused(change):
    inputs, labels = _separable(20)
    with pytest.raises(ValueError, match="unknown"):
        _fit_linear(inputs, labels, TrainOptions(epochs=1, **change))


def test_the_weight_average_is_the_running_mean_of_each_steps_weights():
    inputs, labels = _separable(40)
    options = TrainOptions(epochs=2, batch_size=40, learning_rate=0.05)
    after_one, after_two = (
        _fit_linear(inputs, labels, replace(options, epochs=n)) for n in (1, 2)
    )
    averaged = _fit_linear(inputs, labels, replace(options, ema_decay=0.75))
    for name in ("weight", "bias"):
        expected = 0.75 * getattr(after_one, name) + 0.25 * getattr(after_two, name)
        torch.testing.assert_close(getattr(averaged, name), expected)


def test_the_epoch_log_scores_the_averaged_weights_that_are_kept():
    inputs, labels = _separable(120)
    torch.manual_seed(1)
    module = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Linear(8, 5))
    options = TrainOptions(epochs=4, batch_size=20, learning_rate=0.05, ema_decay=0.9)
    logs = fit_module(
        module, inputs, labels, options, lambda x: x, (inputs, labels), progress=False
    )
    module.eval()
    kept_accuracy = (module(inputs).argmax(1) == labels).float().mean().item()
    assert logs[-1].val_accuracy == pytest.approx(kept_accuracy)
    assert kept_accuracy > 0.8


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_a_weight_average_decay_outside_zero_to_one_is_refused(decay):
    inputs, labels = _separable(20)
    with pytest.raises(ValueError, match="decay"):
        _fit_linear(inputs, labels, TrainOptions(epochs=1, ema_decay=decay))


def test_mixup_trains_on_blended_inputs_against_blended_targets():
    inputs, labels = _separable(40)
    options = TrainOptions(epochs=1, batch_size=40, learning_rate=0.05, mixup=0.4)
    mixed = _fit_linear(inputs, labels, options)
    order = torch.randperm(40, generator=torch.Generator().manual_seed(options.seed))
    share, partner = Mixup.from_options(options).draw(40)
    x, y = inputs[order], labels[order]
    torch.manual_seed(1)
    expected = nn.Linear(5, 5)
    optimizer = torch.optim.AdamW(expected.parameters(), lr=0.05, weight_decay=0)
    logits = expected(share * x + (1 - share) * x[partner])
    loss = share * F.cross_entropy(logits, y) + (1 - share) * F.cross_entropy(
        logits, y[partner]
    )
    loss.backward()
    optimizer.step()
    assert 0 < share < 1 and not torch.equal(partner, torch.arange(40))
    torch.testing.assert_close(mixed.weight, expected.weight)
    torch.testing.assert_close(mixed.bias, expected.bias)


@pytest.mark.parametrize(
    "lever", [{"mixup": 0.2}, {"sam_rho": 0.05}], ids=["mixup", "sam"]
)
def test_mixup_or_sharpness_aware_steps_still_learn_a_separable_problem(lever):
    inputs, labels = _separable(200)
    options = TrainOptions(epochs=30, batch_size=20, learning_rate=0.05, **lever)
    module = _fit_linear(inputs, labels, options)
    assert (module(inputs).argmax(1) == labels).float().mean() > 0.9


def test_a_sharpness_aware_step_uses_the_gradient_at_the_climbed_weights():
    inputs, labels = _separable(40)
    options = TrainOptions(epochs=1, batch_size=40, learning_rate=0.05, sam_rho=0.1)
    stepped = _fit_linear(inputs, labels, options)
    order = torch.randperm(40, generator=torch.Generator().manual_seed(options.seed))
    x, y = inputs[order], labels[order]
    torch.manual_seed(1)
    expected = nn.Linear(5, 5)
    start = [p.detach().clone() for p in expected.parameters()]
    grads = torch.autograd.grad(
        F.cross_entropy(expected(x), y), list(expected.parameters())
    )
    norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))
    climbed = [
        (w + 0.1 * g / norm).requires_grad_() for w, g in zip(start, grads, strict=True)
    ]
    worst = F.cross_entropy(F.linear(x, *climbed), y)
    optimizer = torch.optim.AdamW(expected.parameters(), lr=0.05, weight_decay=0)
    for p, g in zip(
        expected.parameters(), torch.autograd.grad(worst, climbed), strict=True
    ):
        p.grad = g
    optimizer.step()
    torch.testing.assert_close(stepped.weight, expected.weight)
    torch.testing.assert_close(stepped.bias, expected.bias)
    longer = replace(options, epochs=3)  # Adam's first step sees only gradient signs
    plain, sharp = (
        _fit_linear(inputs, labels, replace(longer, sam_rho=rho)) for rho in (0, 0.1)
    )
    assert not torch.allclose(sharp.weight, plain.weight)


def test_the_second_sharpness_aware_pass_leaves_batch_norm_statistics_alone():
    inputs, labels = _separable(40)
    torch.manual_seed(1)
    module = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Linear(8, 5))
    twin = copy.deepcopy(module)
    options = TrainOptions(epochs=1, batch_size=40, learning_rate=0.05)
    fit_module(module, inputs, labels, replace(options, sam_rho=0.1), lambda x: x,
               progress=False)  # fmt: skip
    fit_module(twin, inputs, labels, options, lambda x: x, progress=False)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(module[1], name), getattr(twin[1], name))
    assert module[1].num_batches_tracked == 1


def test_a_negative_sam_rho_is_refused():
    inputs, labels = _separable(20)
    with pytest.raises(ValueError, match="rho"):
        _fit_linear(inputs, labels, TrainOptions(epochs=1, sam_rho=-0.05))


def test_a_negative_mixup_alpha_is_refused():
    inputs, labels = _separable(20)
    with pytest.raises(ValueError, match="mixup"):
        _fit_linear(inputs, labels, TrainOptions(epochs=1, mixup=-0.2))


def test_fit_module_learns_a_separable_problem():
    torch.manual_seed(0)
    inputs = torch.randn(200, 5)
    labels = inputs.argmax(1)
    module = nn.Linear(5, 5)
    options = TrainOptions(epochs=30, batch_size=20, learning_rate=0.05)
    logs = fit_module(
        module, inputs, labels, options, lambda x: x, (inputs, labels), progress=False
    )
    assert logs[-1].loss < logs[0].loss / 2
    assert logs[-1].val_accuracy > 0.9


@pytest.mark.parametrize("kind", ["mobilenetv2", "cnn", "rf"])
def test_model_card_describes_the_model(trained_models, tiny_synthetic, kind):
    card = json.loads((trained_models[kind] / "model.json").read_text())
    assert card["kind"] == kind
    assert (trained_models[kind] / card["weights"]).is_file()
    assert card["class_names"] == ["Normal", "Doubtful", "Mild", "Moderate", "Severe"]
    assert card["input"]["size"] == (224 if kind == "mobilenetv2" else 128)
    training = card["training"]
    assert training["data"] == str(tiny_synthetic.resolve())
    assert training["counts"]["train"] == {str(g): 4 for g in range(5)}
    assert len(training["file_list_sha256"]["train"]) == 64
    cores = usable_cores()
    assert training["hardware"].endswith(f", {cores} core{'' if cores == 1 else 's'}")
    assert card["metrics"]["split"] == "test" and card["metrics"]["n"] == 10
    assert {"torch", "torchvision", "scikit-learn", "python"} <= set(card["versions"])
    assert card["hyperparameters"]["seed"] == 0


@pytest.mark.parametrize("kind", ["mobilenetv2", "cnn", "rf"])
def test_reloaded_model_scores_as_it_did_in_training(
    trained_models, tiny_synthetic, kind
):
    card = json.loads((trained_models[kind] / "model.json").read_text())
    reloaded = evaluate_model(
        trained_models[kind], tiny_synthetic / "test", progress=False
    )
    assert reloaded["confusion_matrix"] == card["metrics"]["confusion_matrix"]
    assert reloaded["ece"] == pytest.approx(card["metrics"]["ece"], abs=1e-6)


def test_mobilenet_card_names_its_pretrained_weights(trained_models, fake_pretrained):
    card = json.loads((trained_models["mobilenetv2"] / "model.json").read_text())
    assert card["training"]["pretrained"]["source"] == str(fake_pretrained)
    assert len(card["training"]["pretrained"]["sha256"]) == 64


def test_mobilenet_training_changes_the_head_but_not_the_trunk(
    trained_models, fake_pretrained
):
    saved = torch.load(trained_models["mobilenetv2"] / "model.pt", weights_only=True)
    pretrained = torch.load(fake_pretrained, weights_only=True)
    torch.testing.assert_close(
        saved["trunk.13.conv.0.0.weight"], pretrained["features.13.conv.0.0.weight"]
    )
    assert not torch.equal(
        saved["head.0.14.conv.0.0.weight"], pretrained["features.14.conv.0.0.weight"]
    )


@pytest.mark.parametrize("kind", ["cnn", "rf"])
def test_same_seed_gives_the_same_model(tiny_synthetic, tmp_path, kind):
    options = TrainOptions(epochs=1, n_estimators=5)
    cards = [
        train_model(kind, tiny_synthetic, tmp_path / str(i), options, progress=False)
        for i in range(2)
    ]
    assert (
        cards[0]["metrics"]["confusion_matrix"]
        == cards[1]["metrics"]["confusion_matrix"]
    )
    weights = cards[0]["weights"]
    assert (tmp_path / "0" / weights).read_bytes() == (
        tmp_path / "1" / weights
    ).read_bytes()


def test_mobilenet_without_pretrained_weights_stops_before_training(
    tiny_synthetic, tmp_path, monkeypatch
):
    def offline(pretrained):
        raise PretrainedWeightsError("no ImageNet weights: set KNEEGRADE_PRETRAINED")

    monkeypatch.setattr(networks, "imagenet_mobilenet_v2", offline)
    with pytest.raises(PretrainedWeightsError):
        train_model("mobilenetv2", tiny_synthetic, tmp_path / "m", progress=False)
    assert not (tmp_path / "m").exists()


def test_data_without_a_train_split_is_refused(tmp_path, make_split):
    make_split(tmp_path / "val", {0: 1, 1: 1})
    with pytest.raises(ValueError, match="no train/ split"):
        train_model("rf", tmp_path, tmp_path / "m", progress=False)


RECIPE = TrainOptions(
    epochs=2,
    trainable_from=16,
    loss="grade-distance",
    distance_weight=0.2,
    label_spread=0.5,
    weight_decay=0.01,
    schedule="one-cycle",
    class_weight="sqrt-balanced",
    augment_views=1,
    tta_flip=True,
    calibrate=True,
    ema_decay=0.9,
    mixup=0.2,
    sam_rho=0.05,
)


@pytest.fixture(scope="module")
def recipe_model(tiny_synthetic, fake_pretrained, tmp_path_factory):
    """MobileNetV2 trained with every lever of the real-radiograph recipe switched on."""
    out = tmp_path_factory.mktemp("recipe") / "model"
    train_model(
        "mobilenetv2", tiny_synthetic, out, RECIPE, fake_pretrained, progress=False
    )
    return out


def test_recipe_card_records_options_and_calibration(recipe_model):
    card = json.loads((recipe_model / "model.json").read_text())
    assert TrainOptions(**card["options"]) == RECIPE
    assert "features[:16] frozen" in card["architecture"]
    calibration = card["calibration"]
    assert calibration["split"] == "test" and calibration["temperature"] > 0
    for key in ("ece_before", "ece_after", "ece_after_cross_fitted"):
        assert 0 <= calibration[key] <= 1
    assert card["hyperparameters"]["trainable_from_block"] == 16
    assert card["hyperparameters"]["ema_decay"] == 0.9
    assert card["hyperparameters"]["mixup"] == 0.2
    assert card["hyperparameters"]["sam_rho"] == 0.05
    assert card["hyperparameters"]["label_spread"] == 0.5


def test_recipe_model_reloads_with_its_split_and_temperature(recipe_model):
    classifier, card = load_bundle(recipe_model)
    assert TrainOptions(**card["options"]) == RECIPE
    config = classifier.config
    assert config.trainable_from == 16 and config.tta_flip
    calibration = card["calibration"]
    kept = calibration["ece_after_cross_fitted"] < calibration["ece_before"]
    assert calibration["kept"] is kept
    assert config.temperature == (calibration["temperature"] if kept else 1.0)
    assert len(classifier.network.trunk) == 16


def test_recipe_model_reproduces_its_card_with_flip_averaging(
    recipe_model, tiny_synthetic
):
    card = json.loads((recipe_model / "model.json").read_text())
    reloaded = evaluate_model(recipe_model, tiny_synthetic / "test", progress=False)
    assert reloaded["confusion_matrix"] == card["metrics"]["confusion_matrix"]
    assert reloaded["ece"] == pytest.approx(card["metrics"]["ece"], abs=1e-6)


def test_flip_averaging_makes_a_prediction_mirror_invariant(recipe_model):
    classifier, _ = load_bundle(recipe_model)
    pixels = torch.randint(0, 256, (3, 1, 224, 224), dtype=torch.uint8)
    np.testing.assert_allclose(
        classifier.predict_pixels(pixels),
        classifier.predict_pixels(pixels.flip(-1)),
        atol=1e-5,
    )


@pytest.mark.parametrize(
    "option",
    [
        {"augment_views": 2},
        {"ema_decay": 0.99},
        {"mixup": 0.2},
        {"sam_rho": 0.05},
        {"label_spread": 0.5},
        {"drop_path": 0.2},
        {"linear_probe": True},
        {"layer_decay": 0.8},
        {"positioning": "wide"},
        {"erase": 0.25},
    ],
)
def test_random_forest_refuses_network_only_options(option):
    options = TrainOptions(**option)
    with pytest.raises(ValueError, match="Random Forest"):
        learner_for(build_classifier("rf", options), options)


def test_stochastic_depth_is_refused_where_the_blocks_cannot_skip():
    options = TrainOptions(drop_path=0.2)
    with pytest.raises(ValueError, match="cnn has no stochastic depth"):
        learner_for(build_classifier("cnn", options), options)


def test_the_linear_probe_fits_the_grade_layer_alone():
    """LP-FT's first step moves the grade layer only, and lowers its loss on the features."""
    options = TrainOptions(linear_probe=True)
    learner = learner_for(build_classifier("cnn", options), options)
    labels = torch.arange(20) % 5
    noise = torch.randint(0, 30, (20, 1, 128, 128))
    pixels = (labels.view(-1, 1, 1, 1) * 50 + noise).to(torch.uint8)  # brighter, higher
    before = copy.deepcopy(learner.module.state_dict())
    losses = learner.probe(learner.encode(pixels), labels)
    assert losses[-1] < 0.5 * losses[0]
    after = learner.module.state_dict()
    moved = {name for name in before if not torch.equal(before[name], after[name])}
    assert moved == {"classifier.4.weight", "classifier.4.bias"}


def test_layer_decay_slows_each_stage_below_the_top():
    stages = [[nn.Parameter(torch.zeros(1))] for _ in range(3)]
    options = TrainOptions(learning_rate=1e-3, layer_decay=0.5)
    assert [group["lr"] for group in layer_rates(stages, options)] == [
        2.5e-4,
        5e-4,
        1e-3,
    ]
    with pytest.raises(ValueError, match="layer decay"):
        layer_rates(stages, replace(options, layer_decay=1.5))


def test_layer_decay_stages_cover_the_trained_weights_once_in_depth_order():
    options = TrainOptions(layer_decay=0.8)
    classifier = build_classifier("efficientnet-lite0", options)
    learner = learner_for(classifier, options)
    trained = [p for p in classifier.network.parameters() if p.requires_grad]
    in_stages = [p for stage in learner.stages for p in stage]
    assert [id(p) for p in in_stages] == [id(p) for p in trained]
    blocks = len(classifier.network.head[0]) - 1  # the conv head closes the sequence
    assert len(learner.stages) == blocks + 1
    top = {id(p) for p in learner.stages[-1]}
    assert {id(p) for p in classifier.grade_output().parameters()} <= top
    with pytest.raises(ValueError, match="cnn has no pretrained stages"):
        learner_for(build_classifier("cnn", options), options)


def test_a_tiny_layer_decay_all_but_freezes_the_lowest_trained_block(
    tiny_synthetic, fake_pretrained, tmp_path
):
    """MobileNetV2 from block 16: stages 16, 17 and the top (18, pooling, grade layer)."""
    pretrained = torch.load(fake_pretrained, weights_only=True)
    moved = {}
    for decay in (1.0, 1e-3):
        options = TrainOptions(epochs=1, trainable_from=16, layer_decay=decay)
        out = tmp_path / str(decay)
        card = train_model(
            "mobilenetv2", tiny_synthetic, out, options, fake_pretrained, False
        )
        saved = torch.load(out / "model.pt", weights_only=True)
        moved[decay] = (
            (
                saved["head.0.16.conv.0.0.weight"]
                - pretrained["features.16.conv.0.0.weight"]
            )
            .abs()
            .max()
        )
    assert moved[1e-3] < 1e-6 < moved[1.0]
    assert card["hyperparameters"]["layer_decay"] == 1e-3


def test_a_probed_model_trained_on_cached_trunk_features_records_it(
    tiny_synthetic, fake_pretrained, tmp_path
):
    options = TrainOptions(epochs=1, trainable_from=16, linear_probe=True)
    card = train_model(
        "mobilenetv2", tiny_synthetic, tmp_path / "m", options, fake_pretrained, False
    )
    assert card["hyperparameters"]["linear_probe"] is True
    assert card["options"]["linear_probe"] is True
    reloaded = evaluate_model(tmp_path / "m", tiny_synthetic / "test", progress=False)
    assert reloaded["confusion_matrix"] == card["metrics"]["confusion_matrix"]


def test_card_names_the_data_set_and_licence_from_source_md(tmp_path):
    (tmp_path / "SOURCE.md").write_text(
        "# Knee X-rays\n\nSome citation.\n- Licence: CC BY 4.0 (https://x)\n"
    )
    record = dataset_record(tmp_path)
    assert record["title"] == "Knee X-rays" and record["licence"] == "CC BY 4.0"
    assert dataset_record(tmp_path / "elsewhere") is None


def test_online_augmentation_trains_on_pixels_and_keeps_the_trunk(
    tiny_synthetic, fake_pretrained, tmp_path
):
    options = TrainOptions(
        epochs=1, trainable_from=16, augment_online=True, tta_flip=True
    )
    card = train_model(
        "mobilenetv2", tiny_synthetic, tmp_path / "m", options, fake_pretrained, False
    )
    saved = torch.load(tmp_path / "m" / "model.pt", weights_only=True)
    pretrained = torch.load(fake_pretrained, weights_only=True)
    torch.testing.assert_close(
        saved["trunk.15.conv.0.0.weight"], pretrained["features.15.conv.0.0.weight"]
    )
    assert not torch.equal(
        saved["head.0.16.conv.0.0.weight"], pretrained["features.16.conv.0.0.weight"]
    )
    reloaded = evaluate_model(tmp_path / "m", tiny_synthetic / "test", progress=False)
    assert reloaded["confusion_matrix"] == card["metrics"]["confusion_matrix"]


def test_views_and_online_augmentation_exclude_each_other():
    options = TrainOptions(augment_views=1, augment_online=True)
    with pytest.raises(ValueError, match="not both"):
        learner_for(build_classifier("cnn", options), options)


def test_scanner_augmentation_needs_augmented_views_and_is_recorded(
    tiny_synthetic, tmp_path
):
    options = TrainOptions(epochs=1, augment="scanner")
    with pytest.raises(
        ValueError, match="online augmentation are needed for the scanner"
    ):
        learner_for(build_classifier("cnn", options), options)
    options = TrainOptions(epochs=1, augment="scanner", augment_online=True)
    card = train_model("cnn", tiny_synthetic, tmp_path / "m", options, progress=False)
    assert card["hyperparameters"]["augment"] == "scanner"
    assert card["options"]["augment"] == "scanner"


def test_wide_positioning_and_erasing_need_augmented_views_and_are_recorded(
    tiny_synthetic, tmp_path
):
    options = TrainOptions(epochs=1, positioning="wide", erase=0.5)
    with pytest.raises(ValueError, match="needed for wide positioning and erasing"):
        learner_for(build_classifier("cnn", options), options)
    for bad, message in [
        ({"positioning": "tilted"}, "unknown positioning 'tilted'"),
        ({"erase": 2.0}, "erasing chance must lie in"),
    ]:
        with pytest.raises(ValueError, match=message):
            learner_for(build_classifier("cnn", options), replace(options, **bad))
    options = replace(options, augment_online=True)
    card = train_model("cnn", tiny_synthetic, tmp_path / "m", options, progress=False)
    assert card["hyperparameters"]["positioning"] == "wide"
    assert card["hyperparameters"]["erase"] == 0.5
    assert card["options"]["positioning"] == "wide"


def test_mobilenet_input_size_is_recorded_and_used_to_serve(
    tiny_synthetic, fake_pretrained, tmp_path
):
    options = TrainOptions(epochs=1, trainable_from=16, input_size=96)
    card = train_model(
        "mobilenetv2", tiny_synthetic, tmp_path / "m", options, fake_pretrained, False
    )
    assert card["input"]["size"] == 96
    predictor = Predictor(tmp_path / "m")
    assert predictor.pixels([Image.new("L", (300, 200))]).shape == (1, 1, 96, 96)
    assert predictor.explain(Image.new("L", (300, 200), 90)).shape == (200, 300)
    reloaded = evaluate_model(tmp_path / "m", tiny_synthetic / "test", progress=False)
    assert reloaded["confusion_matrix"] == card["metrics"]["confusion_matrix"]


def test_an_equalising_lite_model_at_its_own_size_serves_as_it_trained(
    tiny_synthetic, tmp_path
):
    """--input-size and --standardize reach the card, torch and ONNX serving alike: a darker
    exposure curve of the same image grades the same. Stochastic depth, a training-only
    option, is recorded and leaves serving alone."""
    options = TrainOptions(
        epochs=1, input_size=64, standardize="equalize", drop_path=0.2
    )
    card = train_model(
        "efficientnet-lite0", tiny_synthetic, tmp_path / "m", options, progress=False
    )
    assert card["input"]["size"] == 64
    assert card["input"]["standardize"] == "equalize"
    assert card["options"]["standardize"] == "equalize"
    assert card["hyperparameters"]["drop_path"] == 0.2
    image = read_image(scan_split(tiny_synthetic / "test")[0].path)
    darker = Image.eval(image.convert("L"), lambda v: round(255 * (v / 255) ** 1.6))
    torch_served = Predictor(tmp_path / "m").predict_proba([image, darker])
    onnx = Predictor(tmp_path / "m", engine="onnx")
    assert onnx.engine == "onnx"
    assert onnx.pixels([image]).shape == (1, 1, 64, 64)
    np.testing.assert_allclose(
        onnx.predict_proba([image, darker]), torch_served, atol=1e-4
    )
    np.testing.assert_allclose(torch_served[0], torch_served[1], atol=0.02)


def test_mobilenet_refuses_an_input_too_small_for_its_blocks():
    config = model_config("mobilenetv2", TrainOptions(input_size=16))
    with pytest.raises(ValueError, match="at least 32"):
        create_classifier("mobilenetv2", config)


def test_the_ordinal_head_trains_serves_and_reloads(
    tiny_synthetic, fake_pretrained, tmp_path
):
    options = TrainOptions(epochs=1, trainable_from=16, head="corn", tta_flip=True)
    card = train_model(
        "mobilenetv2", tiny_synthetic, tmp_path / "m", options, fake_pretrained, False
    )
    assert card["config"]["head"] == "corn"
    assert "CORN" in card["architecture"]
    classifier, _ = load_bundle(tmp_path / "m")
    assert classifier.network.head[-1][0].out_features == 4
    pixels = torch.randint(0, 256, (3, 1, 224, 224), dtype=torch.uint8)
    np.testing.assert_allclose(classifier.predict_pixels(pixels).sum(1), 1, atol=1e-6)
    reloaded = evaluate_model(tmp_path / "m", tiny_synthetic / "test", progress=False)
    assert reloaded["confusion_matrix"] == card["metrics"]["confusion_matrix"]
    served = Predictor(tmp_path / "m", engine="onnx")
    assert served.engine == "onnx"  # exported, and checked against torch at load
    with pytest.raises(ValueError, match="Random Forest"):
        rf = TrainOptions(head="corn")
        learner_for(build_classifier("rf", rf), rf)


def test_gem_pooling_trains_serves_and_reloads(
    tiny_synthetic, fake_pretrained, tmp_path
):
    options = TrainOptions(epochs=1, trainable_from=16, pool="gem")
    card = train_model(
        "mobilenetv2", tiny_synthetic, tmp_path / "m", options, fake_pretrained, False
    )
    assert card["config"]["pool"] == card["hyperparameters"]["pool"] == "gem"
    assert "GeM" in card["architecture"]
    classifier, _ = load_bundle(tmp_path / "m")
    power = classifier.network.head[1].p
    assert power.item() != 3.0  # learned, and saved with the weights
    reloaded = evaluate_model(tmp_path / "m", tiny_synthetic / "test", progress=False)
    assert reloaded["confusion_matrix"] == card["metrics"]["confusion_matrix"]
    assert Predictor(tmp_path / "m", engine="onnx").engine == "onnx"
    with pytest.raises(ValueError, match="no global pooling"):
        build_classifier("cnn", TrainOptions(pool="gem"))


def test_a_module_distilled_without_labels_learns_the_teachers_probabilities():
    torch.manual_seed(0)
    inputs = torch.randn(200, 5)
    teacher = torch.softmax(inputs @ torch.randn(5, 5) * 0.5, 1)
    wrong_labels = torch.zeros(200, dtype=torch.int64)  # weight 1: never looked at
    options = TrainOptions(epochs=60, batch_size=20, learning_rate=0.05)
    module = nn.Linear(5, 5)
    fit_module(
        module, inputs, wrong_labels, replace(options, distill_weight=1.0),
        lambda x: x, progress=False, teacher=teacher,
    )  # fmt: skip
    with torch.no_grad():
        learned = torch.softmax(module(inputs), 1)
    assert (learned - teacher).abs().max() < 0.05


def test_a_distilled_model_learns_from_its_teachers_and_names_them(
    trained_models, tiny_synthetic, tmp_path
):
    teachers = (str(trained_models["cnn"]), str(trained_models["mobilenetv2"]))
    samples = scan_split(tiny_synthetic / "train")
    expected = np.mean(
        [Predictor(t).predict_proba([s.path for s in samples]) for t in teachers], 0
    )
    np.testing.assert_allclose(
        teach(teachers, samples, progress=False).probabilities, expected, atol=1e-4
    )
    options = TrainOptions(epochs=1, teachers=teachers, distill_weight=0.7)
    card = train_model("cnn", tiny_synthetic, tmp_path / "m", options, progress=False)
    named = card["training"]["teachers"]
    assert [t["directory"] for t in named] == list(teachers)
    for record, teacher in zip(named, teachers, strict=True):
        teacher_card = json.loads((Path(teacher) / "model.json").read_text())
        assert record["weights_sha256"] == teacher_card["files"]["model.pt"]["sha256"]
    assert card["hyperparameters"]["distill_weight"] == 0.7
    with pytest.raises(ValueError, match="distillation"):
        learner_for(build_classifier("rf", options), options)


def test_a_saved_teaching_stands_in_for_its_teachers(
    trained_models, tiny_synthetic, tmp_path
):
    teachers = (str(trained_models["cnn"]),)
    samples = scan_split(tiny_synthetic / "train")
    taught = teach(teachers, samples, progress=False)
    saved = tmp_path / "teaching.json"
    taught.save(saved, samples)
    loaded = load_teaching(saved, list(reversed(samples)))
    np.testing.assert_allclose(
        loaded.probabilities, taught.probabilities.flip(0), atol=1e-6
    )
    options = TrainOptions(epochs=1, teachers=(str(saved),))
    card = train_model("cnn", tiny_synthetic, tmp_path / "m", options, progress=False)
    assert card["training"]["teachers"] == taught.teachers
    assert list(card["options"]["teachers"]) == [str(saved)]


def test_a_saved_teaching_must_cover_every_training_image(
    trained_models, tiny_synthetic, tmp_path
):
    samples = scan_split(tiny_synthetic / "train")
    saved = tmp_path / "teaching.json"
    teach((str(trained_models["cnn"]),), samples[:-1], progress=False).save(
        saved, samples[:-1]
    )
    with pytest.raises(DatasetError, match="no teachers' probabilities for 1 training"):
        load_teaching(saved, samples)
    saved.write_text("[1, 2]")
    with pytest.raises(DatasetError, match="not a teaching"):
        load_teaching(saved, samples)


def test_a_model_trained_from_a_source_tree_is_saved(
    tiny_synthetic, tmp_path, monkeypatch
):
    def version(package: str) -> str:
        if package == "kneegrade-ml":
            raise PackageNotFoundError(package)
        return "1.0"

    monkeypatch.setattr("kneegrade_ml.bundle.version", version)
    options = TrainOptions(epochs=1)
    card = train_model("cnn", tiny_synthetic, tmp_path / "m", options, progress=False)
    assert card["versions"]["kneegrade-ml"] == "not installed"
    assert load_bundle(tmp_path / "m")[1]["versions"] == card["versions"]


def test_hardware_counts_one_core_in_the_singular(monkeypatch):
    monkeypatch.setattr("kneegrade_ml.provenance.usable_cores", lambda: 1)
    assert hardware("cpu").endswith(", 1 core")


def test_a_learning_curve_point_trains_on_one_fold_alone(tiny_synthetic, tmp_path):
    options = TrainOptions(epochs=1, train_fold="1/2")
    card = train_model("cnn", tiny_synthetic, tmp_path / "m", options, progress=False)
    samples = scan_split(tiny_synthetic / "train")
    held = in_fold(samples, Fold(1, 2))
    assert card["training"]["train_fold"] == "1/2"
    assert "held_out_fold" not in card["training"]
    assert (
        sum(card["training"]["counts"]["train"].values()) == held.sum() < len(samples)
    )
    with pytest.raises(ValueError, match="not both"):
        TrainOptions(train_fold="0/2", held_out_fold="1/2")


def test_cross_fitted_teachers_grade_only_the_images_they_were_trained_without(
    tiny_synthetic, tmp_path
):
    teachers = []
    for number in range(2):
        options = TrainOptions(epochs=1, held_out_fold=f"{number}/2")
        out = tmp_path / f"teacher{number}"
        card = train_model("cnn", tiny_synthetic, out, options, progress=False)
        assert card["training"]["held_out_fold"] == f"{number}/2"
        teachers.append(str(out))
    samples = scan_split(tiny_synthetic / "train")
    held = [in_fold(samples, Fold(number, 2)) for number in range(2)]
    assert sum(card["training"]["counts"]["train"].values()) == (~held[1]).sum()
    taught = teach(teachers, samples, progress=False, cross_fit=True)
    for teacher, mask in zip(teachers, held, strict=True):
        own = [s.path for s, m in zip(samples, mask, strict=True) if m]
        np.testing.assert_allclose(
            taught.probabilities[mask], Predictor(teacher).predict_proba(own), atol=1e-4
        )
    assert [t["held_out_fold"] for t in taught.teachers] == ["0/2", "1/2"]
    with pytest.raises(DatasetError, match="was not trained on these images without"):
        teach(teachers[::-1], samples, progress=False, cross_fit=True)
