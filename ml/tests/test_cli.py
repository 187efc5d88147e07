"""The ``kneegrade`` command as a user runs it."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from kneegrade_ml import cli
from kneegrade_ml.cli import _options, build_parser, main
from kneegrade_ml.training.loop import SPEC_OPTIONS
from kneegrade_ml.training.recipes import REAL_OPTIONS


def test_synth_writes_a_small_set_and_prints_the_counts(tmp_path, capsys):
    out = tmp_path / "synthetic"
    args = ["synth", "--out", str(out), "--train", "2", "--test", "1", "--samples", "1"]
    assert main([*args, "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Normal" in printed and "Severe" in printed and "20" in printed
    assert len(list(out.rglob("*/*/*.png"))) == 20
    assert (out / "labels.csv").is_file() and (out / "contact_sheet.png").is_file()


def test_data_reports_a_missing_folder_clearly(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["data", str(missing)]) == 2
    assert f"{missing} does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_train_on_a_missing_gpu_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    args = ["train", "--model", "cnn", "--data", str(tmp_path), "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exited:
        main([*args, "--device", "cuda"])
    assert exited.value.code == 2
    assert "--device: cuda: this machine has no CUDA GPU" in capsys.readouterr().err


def test_teach_writes_what_train_takes_as_teachers(
    trained_models, tiny_synthetic, tmp_path, capsys
):
    teaching = tmp_path / "teaching.json"
    args = ["--data", str(tiny_synthetic), "--out", str(teaching)]
    assert main(["teach", "--teachers", str(trained_models["cnn"]), *args]) == 0
    assert "wrote" in capsys.readouterr().out
    assert len(json.loads(teaching.read_text())["probabilities"]) == len(
        list((tiny_synthetic / "train").glob("*/*.png"))
    )
    assert main(["teach", "--teachers", str(trained_models["cnn"]),
                 "--data", str(tmp_path / "none"), "--out", str(teaching)]) == 2  # fmt: skip


def test_console_script_is_installed():
    kneegrade = Path(sys.executable).with_name("kneegrade")
    done = subprocess.run(
        [kneegrade, "--help"], capture_output=True, text=True, check=True
    )
    assert "synth" in done.stdout


TRAIN = ["train", "--model", "mobilenetv2", "--data", "d", "--out", "o"]


def test_train_defaults_to_the_spec_options():
    assert _options(build_parser().parse_args(TRAIN)) == SPEC_OPTIONS


def test_recipe_options_are_overridden_by_those_given():
    args = build_parser().parse_args(
        [*TRAIN, "--recipe", "real", "--epochs", "3", "--no-tta-flip", "--lr", "0.01"]
    )
    expected = replace(REAL_OPTIONS, epochs=3, tta_flip=False, learning_rate=0.01)
    assert _options(args) == expected


def test_scanner_augmentation_is_a_train_option():
    args = build_parser().parse_args(
        [*TRAIN, "--recipe", "real", "--augment", "scanner"]
    )
    assert _options(args) == replace(REAL_OPTIONS, augment="scanner")
    assert REAL_OPTIONS.augment == "standard"


def test_positioning_and_erasing_are_train_options():
    args = build_parser().parse_args(
        [*TRAIN, "--recipe", "real", "--positioning", "wide", "--erase", "0.25"]
    )
    assert _options(args) == replace(REAL_OPTIONS, positioning="wide", erase=0.25)
    assert REAL_OPTIONS.positioning == "standard" and REAL_OPTIONS.erase == 0


def test_a_held_out_fold_is_a_train_option_checked_as_given(capsys):
    args = build_parser().parse_args([*TRAIN, "--held-out-fold", "1/2"])
    assert _options(args) == replace(SPEC_OPTIONS, held_out_fold="1/2")
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*TRAIN, "--held-out-fold", "2/2"])
    assert exited.value.code == 2
    assert "need 0 <= K < N" in capsys.readouterr().err


def test_a_training_fold_is_a_train_option_exclusive_of_a_held_out_one(capsys):
    args = build_parser().parse_args([*TRAIN, "--train-fold", "0/4"])
    assert _options(args) == replace(SPEC_OPTIONS, train_fold="0/4")
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(
            [*TRAIN, "--train-fold", "0/4", "--held-out-fold", "1/4"]
        )
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_cross_fitted_teaching_needs_a_teacher_per_fold(
    trained_models, tiny_synthetic, tmp_path, capsys
):
    args = ["--data", str(tiny_synthetic), "--out", str(tmp_path / "t.json")]
    teacher = str(trained_models["cnn"])
    assert main(["teach", "--teachers", teacher, "--cross-fit", *args]) == 2
    assert "a teacher for each of 2+ folds" in capsys.readouterr().err
    assert main(["teach", "--teachers", teacher, teacher, "--cross-fit", *args]) == 2
    assert "was not trained on these images without fold 0/2" in capsys.readouterr().err


def test_the_weight_average_is_a_train_option():
    args = build_parser().parse_args(
        [*TRAIN, "--recipe", "real", "--ema-decay", "0.998"]
    )
    assert _options(args) == replace(REAL_OPTIONS, ema_decay=0.998)
    assert REAL_OPTIONS.ema_decay == 0


def test_mixup_is_a_train_option():
    args = build_parser().parse_args([*TRAIN, "--recipe", "real", "--mixup", "0.2"])
    assert _options(args) == replace(REAL_OPTIONS, mixup=0.2)
    assert REAL_OPTIONS.mixup == 0


def test_sharpness_aware_steps_are_a_train_option():
    args = build_parser().parse_args([*TRAIN, "--recipe", "real", "--sam", "0.05"])
    assert _options(args) == replace(REAL_OPTIONS, sam_rho=0.05)
    assert REAL_OPTIONS.sam_rho == 0


def test_soft_labels_are_a_train_option():
    args = build_parser().parse_args(
        [*TRAIN, "--recipe", "real", "--soft-labels", "0.5"]
    )
    assert _options(args) == replace(REAL_OPTIONS, label_spread=0.5)
    assert REAL_OPTIONS.label_spread == 0


def test_class_weighting_can_be_switched_off_over_a_recipe():
    args = build_parser().parse_args(
        [*TRAIN, "--recipe", "real", "--class-weight", "none"]
    )
    assert REAL_OPTIONS.class_weight == "sqrt-balanced"
    assert _options(args) == replace(REAL_OPTIONS, class_weight=None)


def test_stochastic_depth_is_a_train_option():
    args = build_parser().parse_args([*TRAIN, "--recipe", "real", "--drop-path", "0.2"])
    assert _options(args) == replace(REAL_OPTIONS, drop_path=0.2)
    assert REAL_OPTIONS.drop_path == 0


def test_linear_probe_is_a_train_option():
    args = build_parser().parse_args([*TRAIN, "--recipe", "real", "--linear-probe"])
    assert _options(args) == replace(REAL_OPTIONS, linear_probe=True)
    assert not REAL_OPTIONS.linear_probe


def test_layer_decay_is_a_train_option():
    args = build_parser().parse_args(
        [*TRAIN, "--recipe", "real", "--layer-decay", "0.85"]
    )
    assert _options(args) == replace(REAL_OPTIONS, layer_decay=0.85)
    assert REAL_OPTIONS.layer_decay == 1


def test_pipeline_without_seed_uses_the_default_seed_for_data_and_models(
    tmp_path, monkeypatch
):
    calls = []
    monkeypatch.setattr(cli, "run_pipeline", lambda *args, **kw: calls.append(args))
    assert main(["pipeline", "--root", str(tmp_path)]) == 0
    assert main(["pipeline", "--root", str(tmp_path), "--seed", "7"]) == 0
    (root, seed, options, *_), (_, seed7, options7, *_) = calls
    assert root == tmp_path
    assert seed == options.seed == SPEC_OPTIONS.seed
    assert seed7 == options7.seed == 7
