"""``kneegrade train / evaluate / cv / predict / pipeline`` as a researcher runs them."""

import json
from pathlib import Path

import pytest
from PIL import Image

from kneegrade_ml.cli import main
from kneegrade_ml.evaluation.report import comparison_markdown

SHIPPED = str(Path(__file__).resolve().parents[2] / "localiser")


def test_train_with_the_pretrained_setting_from_the_environment(
    tiny_synthetic, fake_pretrained, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("KNEEGRADE_PRETRAINED", str(fake_pretrained))
    out = tmp_path / "mobilenet"
    args = [
        "train",
        "--model",
        "mobilenetv2",
        "--data",
        str(tiny_synthetic),
        "--out",
        str(out),
    ]
    assert main([*args, "--epochs", "1"]) == 0
    assert "mobilenetv2 on test" in capsys.readouterr().out
    card = json.loads((out / "model.json").read_text())
    assert card["training"]["pretrained"]["source"] == str(fake_pretrained)


def test_train_reports_missing_data_in_one_line(tmp_path, capsys):
    args = [
        "train",
        "--model",
        "rf",
        "--data",
        str(tmp_path / "none"),
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 2
    assert "does not exist" in capsys.readouterr().err


def test_evaluate_writes_the_contracted_json_and_a_confusion_png(
    trained_models, tiny_synthetic, tmp_path
):
    out = tmp_path / "eval" / "rf.json"
    args = ["evaluate", "--model", str(trained_models["rf"]), "--localiser", SHIPPED]
    assert (
        main([*args, "--data", str(tiny_synthetic / "test"), "--json", str(out)]) == 0
    )
    metrics = json.loads(out.read_text())
    assert metrics["n"] == 10
    assert sum(metrics["localiser"]["images"].values()) == 10
    for key in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "mae"):
        assert 0 <= metrics[key] <= (4 if key == "mae" else 1)
    assert set(metrics["per_class"]) == {"0", "1", "2", "3", "4"}
    assert {"precision", "recall", "f1", "support"} <= set(metrics["per_class"]["2"])
    assert sum(map(sum, metrics["confusion_matrix"])) == 10
    assert "qwk" in metrics
    with Image.open(out.with_suffix(".png")) as plot:
        assert plot.format == "PNG"


def test_evaluate_grades_whole_images_on_request_and_names_a_missing_localiser(
    trained_models, tiny_synthetic, tmp_path, capsys
):
    args = ["evaluate", "--model", str(trained_models["rf"])]
    args += ["--data", str(tiny_synthetic / "test")]
    out = tmp_path / "whole.json"
    assert main([*args, "--whole-image", "--json", str(out)]) == 0
    assert "localiser" not in json.loads(out.read_text())
    assert main([*args, "--localiser", str(tmp_path / "nowhere")]) == 2
    assert "--whole-image" in capsys.readouterr().err


def test_cv_reports_mean_and_std_over_folds(tiny_synthetic, tmp_path, capsys):
    out = tmp_path / "cv.json"
    args = ["cv", "--model", "rf", "--data", str(tiny_synthetic), "--folds", "2"]
    assert main([*args, "--trees", "5", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["folds"] == 2 and len(result["accuracies"]) == 2 and result["n"] == 20
    assert "mean ± std" in capsys.readouterr().out


def test_predict_prints_grade_and_probabilities(trained_models, tiny_synthetic, capsys):
    image = next(tiny_synthetic.glob("samples/4/*.png"))
    args = ["predict", "--model", str(trained_models["cnn"]), "--localiser", SHIPPED]
    assert main([*args, str(image)]) == 0
    printed = capsys.readouterr().out
    assert any(
        name in printed for name in ("Normal", "Doubtful", "Mild", "Moderate", "Severe")
    )
    assert "P4" in printed


@pytest.mark.slow
def test_pipeline_trains_evaluates_and_compares_all_three(
    tiny_synthetic, fake_pretrained, tmp_path, capsys
):
    root = tmp_path / "artifacts"
    root.mkdir()
    (root / "synthetic").symlink_to(tiny_synthetic)
    args = ["pipeline", "--root", str(root), "--pretrained", str(fake_pretrained)]
    assert main([*args, "--epochs", "1", "--trees", "5", "--cv", "2"]) == 0
    table = (root / "results" / "comparison.md").read_text()
    for model in ("MobileNetV2", "Custom CNN", "Random Forest"):
        assert (
            f"| {model} | published |" in table and f"| {model} | KneeGrade |" in table
        )
    results = json.loads((root / "results" / "comparison.json").read_text())[
        "kneegrade"
    ]
    assert set(results) == {"mobilenetv2", "cnn", "rf"}
    assert all(r["cv"]["folds"] == 2 for r in results.values())
    assert (root / "models" / "rf" / "model.json").is_file()
    assert "Where the time goes" in capsys.readouterr().out


def test_comparison_shows_percentages_beside_the_published_figures():
    ours = {
        "accuracy": 0.9,
        "precision_macro": 0.8,
        "recall_macro": 0.7,
        "f1_macro": 0.75,
        "qwk": 0.95,
        "mae": 0.125,
        "per_class_accuracy": [1.0, 0.5, None, 0.25, 1.0],
        "cv": {"accuracy_mean": 0.88, "accuracy_std": 0.02},
    }
    table = comparison_markdown({"rf": ours})
    assert (
        "| Random Forest | published | 89.2 | 89.5 | 89.2 | 89.3 | - | - | - | 88.7 ± 1.18 |"
        in table
    )
    assert (
        "| Random Forest | KneeGrade | 90.0 | 80.0 | 70.0 | 75.0 | 0.950 | 0.125 |"
        in table
    )
    assert "100 / 50 / - / 25 / 100 | 88.0 ± 2.00 |" in table
