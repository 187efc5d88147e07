"""Ensembles: trained networks graded together, built into one model directory that serves,
explains, compares and releases like any other."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from kneegrade_ml.bundle import ModelLoadError, load_bundle
from kneegrade_ml.cli import build_parser, main
from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.data.images import read_image
from kneegrade_ml.evaluation.compare import Result, table_rows
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.ensemble import EnsembleClassifier
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.release import release_model
from kneegrade_ml.training.calibration import Calibration
from kneegrade_ml.training.ensemble import build_ensemble

MEMBERS = ("mobilenetv2", "efficientnet-lite0")


@pytest.fixture(scope="module")
def ensemble(trained_models, tiny_synthetic, tmp_path_factory):
    """The two members, the second flip-averaged as real-radiograph models are."""
    root = tmp_path_factory.mktemp("ensemble")
    flipped = root / MEMBERS[1]
    shutil.copytree(trained_models[MEMBERS[1]], flipped)
    card = json.loads((flipped / "model.json").read_text())
    card["config"]["tta_flip"] = True
    (flipped / "model.json").write_text(json.dumps(card))
    out = root / "ensemble"
    build_ensemble(
        [trained_models[MEMBERS[0]], flipped], tiny_synthetic, out, progress=False
    )
    return out


@pytest.fixture(scope="module")
def images(tiny_synthetic):
    return [read_image(s.path) for s in scan_split(tiny_synthetic / "test")]


def test_an_ensemble_grades_with_its_members_mean_probabilities(trained_models):
    members = [load_bundle(trained_models[kind])[0] for kind in MEMBERS]
    members[1].config = replace(members[1].config, tta_flip=True)
    pixels = torch.randint(0, 256, (3, 1, 224, 224), dtype=torch.uint8)
    expected = np.mean([m.predict_pixels(pixels) for m in members], axis=0)
    served = EnsembleClassifier.of(members).predict_pixels(pixels)
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_the_built_ensemble_is_calibrated_and_says_what_it_is_made_of(
    ensemble, trained_models
):
    card = json.loads((ensemble / "model.json").read_text())
    assert card["kind"] == "ensemble" and card["metrics"]["split"] == "test"
    calibration = card["calibration"]
    kept = calibration["ece_after_cross_fitted"] < calibration["ece_before"]
    assert calibration["kept"] is kept
    expected = calibration["temperature"] if kept else 1.0
    assert card["config"]["temperature"] == expected
    members = card["training"]["members"]
    assert [m["kind"] for m in members] == list(MEMBERS)
    for member, kind in zip(members, MEMBERS, strict=True):
        member_card = json.loads((Path(member["directory"]) / "model.json").read_text())
        assert member["weights_sha256"] == member_card["files"]["model.pt"]["sha256"]
        assert member["metrics"]["accuracy"] == member_card["metrics"]["accuracy"]
    assert card["training"]["dataset"]["kind"] == "synthetic"
    config = ModelConfig.from_dict(card["config"])
    assert [m.kind for m in config.members] == list(MEMBERS)
    assert [m.tta_flip for m in config.members] == [False, True]
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_the_ensemble_serves_on_onnx_like_torch_and_explains(ensemble, images):
    torch_served = Predictor(ensemble)
    onnx_served = Predictor(ensemble, engine="onnx")
    assert onnx_served.engine == "onnx"
    expected = torch_served.predict_proba(images)
    assert (
        len(images) > 1
    )  # a batch: the flipped member's halves are split in the graph
    np.testing.assert_allclose(onnx_served.predict_proba(images), expected, atol=1e-4)
    prediction = torch_served.predict(images[0])
    heatmap = torch_served.explain(images[0], prediction.grade)
    assert heatmap.shape == images[0].size[::-1]
    assert 0 <= heatmap.min() and heatmap.max() <= 1 and heatmap.max() > 0


def test_members_that_learned_from_other_images_are_refused(
    trained_models, tiny_synthetic, tmp_path
):
    other = tmp_path / "other"
    shutil.copytree(trained_models["efficientnet-lite0"], other)
    card = json.loads((other / "model.json").read_text())
    card["training"]["file_list_sha256"]["train"] = "0" * 64
    (other / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="learned from other images"):
        build_ensemble(
            [trained_models["mobilenetv2"], other],
            tiny_synthetic,
            tmp_path / "out",
            progress=False,
        )
    assert not (tmp_path / "out").exists()


def test_members_that_standardise_their_input_differently_are_refused(
    trained_models, tiny_synthetic, tmp_path
):
    equalising = tmp_path / "equalising"
    shutil.copytree(trained_models["efficientnet-lite0"], equalising)
    card = json.loads((equalising / "model.json").read_text())
    card["config"]["input"]["standardize"] = card["input"]["standardize"] = "equalize"
    (equalising / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="standardises its input as 'none'"):
        build_ensemble(
            [equalising, trained_models["mobilenetv2"]],
            tiny_synthetic,
            tmp_path / "out",
            progress=False,
        )


@pytest.mark.parametrize(
    ("kinds", "reason"),
    [
        (("mobilenetv2", "rf"), "not a network"),
        (("mobilenetv2", "cnn"), "reads 128 px"),
        (("mobilenetv2",), "at least 2 members"),
    ],
)
def test_members_that_cannot_be_graded_together_are_refused(
    trained_models, tiny_synthetic, tmp_path, kinds, reason
):
    with pytest.raises(ModelLoadError, match=reason):
        build_ensemble(
            [trained_models[k] for k in kinds],
            tiny_synthetic,
            tmp_path / "out",
            progress=False,
        )


def test_the_cli_builds_an_ensemble_and_will_not_train_one(
    trained_models, tiny_synthetic, tmp_path, capsys
):
    members = [str(trained_models[kind]) for kind in MEMBERS]
    out = tmp_path / "cli-ensemble"
    assert (
        main(["ensemble", *members, "--data", str(tiny_synthetic), "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "the ensemble on test" in printed and "efficientnet-lite0" in printed
    assert json.loads((out / "model.json").read_text())["training"][
        "command"
    ].startswith("kneegrade ensemble")
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["train", "--model", "ensemble", "--data", "d", "--out", "o"]
        )


def test_compare_describes_an_ensemble_by_its_members(ensemble, trained_models):
    rows = table_rows(
        [
            Result.from_directory(trained_models["mobilenetv2"], "one"),
            Result.from_directory(ensemble, "both"),
        ]
    )
    assert rows[1][:5] == [
        "both",
        "ensemble: 1 mobilenetv2 + 1 efficientnet-lite0",
        "linear",
        "224",
        "",
    ]
    assert len(rows) == 2  # no seed summary: an ensemble has no seed


def test_an_ensemble_releases_and_serves(ensemble, tiny_synthetic, tmp_path, images):
    card = release_model(
        ensemble, tiny_synthetic, tmp_path / "release", "0.1.0", "two members"
    )
    assert card["name"] == "KneeGrade KL Ensemble" and card["version"] == "0.1.0"
    assert card["storage"]["max_probability_change_vs_float32"] <= 1e-3
    released = Predictor(tmp_path / "release").predict_proba(images)
    np.testing.assert_allclose(
        released, Predictor(ensemble).predict_proba(images), atol=2e-3
    )


def test_a_temperature_is_kept_only_where_it_helps_unseen_images():
    helps = Calibration(
        1.5, ece_before=0.05, ece_after=0.02, ece_after_cross_fitted=0.03
    )
    hurts = Calibration(
        0.9, ece_before=0.033, ece_after=0.038, ece_after_cross_fitted=0.034
    )
    assert helps.kept_temperature == 1.5 and helps.to_dict("val")["kept"]
    assert hurts.kept_temperature == 1.0 and not hurts.to_dict("val")["kept"]
