"""The ``kneegrade`` command as a user runs it."""

import subprocess
import sys
from pathlib import Path

from kneegrade_ml.cli import main


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


def test_console_script_is_installed():
    kneegrade = Path(sys.executable).with_name("kneegrade")
    done = subprocess.run(
        [kneegrade, "--help"], capture_output=True, text=True, check=True
    )
    assert "synth" in done.stdout
