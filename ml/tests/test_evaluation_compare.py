"""The results table: rows read from model cards, seeds of one recipe summarised."""

import json
from pathlib import Path

import pytest

from kneegrade_ml.bundle import FORMAT
from kneegrade_ml.cli import main
from kneegrade_ml.evaluation.compare import Result, seed_summaries, table_rows

REAL_RECIPE = {
    "epochs": 8,
    "head": "linear",
    "augment": "scanner",
    "learning_rate": 1e-3,
}


def write_card(
    folder: Path, seed: int, accuracy: float, kl1: float, options: dict | None = None
) -> Path:
    """A model directory whose card holds what the table reads (no weights needed)."""
    folder.mkdir(parents=True)
    card = {
        "format": FORMAT,
        "kind": "mobilenetv2",
        "input": {"size": 224},
        "options": {**(REAL_RECIPE if options is None else options), "seed": seed},
        "training": {
            "command": f"kneegrade train --seed {seed} --out {folder}",
            "seconds": 600.0,
            "hardware": "AMD EPYC, 2 cores",
        },
        "metrics": {
            "split": "val",
            "n": 826,
            "accuracy": accuracy,
            "f1_macro": accuracy,
            "qwk": 0.8,
            "mae": 0.4,
            "ece": 0.02,
            "per_class": {"1": {"recall": kl1}},
        },
    }
    (folder / "model.json").write_text(json.dumps(card))
    return folder


def test_a_row_says_what_the_model_is_and_how_it_scored(tmp_path):
    result = Result.from_directory(write_card(tmp_path / "m", 0, 0.66, 0.34), "1.1.0")
    (row,) = table_rows([result])
    assert row == ["1.1.0", "mobilenetv2", "linear", "224", "8", "AMD EPYC, 2 cores",
                   "10.0", "66.0", "66.0", "0.800", "0.400", "34.0", "0.020"]  # fmt: skip


def test_a_standardised_input_is_named_beside_its_size_and_makes_its_own_recipe(
    tmp_path,
):
    plain = Result.from_directory(write_card(tmp_path / "plain", 0, 0.66, 0.34))
    folder = write_card(
        tmp_path / "eq", 0, 0.66, 0.34, {**REAL_RECIPE, "standardize": "equalize"}
    )
    card = json.loads((folder / "model.json").read_text())
    card["input"]["standardize"] = "equalize"
    (folder / "model.json").write_text(json.dumps(card))
    equalised = Result.from_directory(folder)
    assert table_rows([equalised])[0][3] == "224 (equalize)"
    assert equalised.recipe != plain.recipe


def test_gem_pooling_is_named_beside_the_head_and_makes_its_own_recipe(tmp_path):
    plain = Result.from_directory(write_card(tmp_path / "plain", 0, 0.66, 0.34))
    gem = Result.from_directory(
        write_card(tmp_path / "gem", 0, 0.66, 0.34, {**REAL_RECIPE, "pool": "gem"})
    )
    assert table_rows([plain, gem])[0][2] == "linear"
    assert table_rows([plain, gem])[1][2] == "linear, GeM"
    assert gem.recipe != plain.recipe


def test_seeds_of_one_recipe_are_summarised_once_each(tmp_path):
    runs = [
        Result.from_directory(write_card(tmp_path / "s0", 0, 0.64, 0.30)),
        Result.from_directory(write_card(tmp_path / "s1", 1, 0.66, 0.34)),
        Result.from_directory(write_card(tmp_path / "s2", 2, 0.68, 0.38)),
        # seed 0 again, as released: the same run, not a fourth seed
        Result.from_directory(write_card(tmp_path / "release", 0, 0.64, 0.30)),
        # another recipe, one seed: no summary of its own
        Result.from_directory(
            write_card(tmp_path / "corn", 0, 0.70, 0.5, {**REAL_RECIPE, "head": "corn"})
        ),
    ]
    (summary,) = seed_summaries(runs)
    assert [run.seed for run in summary.runs] == [0, 1, 2]
    assert summary.mean["accuracy"] == pytest.approx(0.66)
    assert summary.sd["accuracy"] == pytest.approx(0.02)
    assert table_rows(runs)[-1][-6:] == [
        "66.0 ± 2.0", "66.0 ± 2.0", "0.800 ± 0.000", "0.400 ± 0.000", "34.0 ± 4.0",
        "0.020 ± 0.000",
    ]  # fmt: skip


def test_an_older_card_without_newer_options_joins_their_defaults(tmp_path):
    older = {
        k: v for k, v in REAL_RECIPE.items() if k != "head"
    }  # before --head existed
    runs = [
        Result.from_directory(write_card(tmp_path / "old", 0, 0.64, 0.3, older)),
        Result.from_directory(write_card(tmp_path / "new", 1, 0.66, 0.3)),
    ]
    assert len(seed_summaries(runs)) == 1


def test_compare_command_writes_the_markdown_table(tmp_path, capsys):
    model = write_card(tmp_path / "m", 0, 0.66, 0.34)
    table = tmp_path / "results.md"
    assert main(["compare", f"1.1.0={model}", "--markdown", str(table)]) == 0
    text = table.read_text()
    assert "| 1.1.0 | mobilenetv2 |" in text
    assert f"`kneegrade train --seed 0 --out {model}`" in text
    assert "Scored on val (826 images)" in text
    assert "66.0" in capsys.readouterr().out


def test_compare_refuses_a_model_without_held_out_metrics(tmp_path, capsys):
    model = write_card(tmp_path / "m", 0, 0.66, 0.34)
    card = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({**card, "metrics": None}))
    assert main(["compare", str(model)]) == 2
    assert "no held-out metrics" in capsys.readouterr().err
