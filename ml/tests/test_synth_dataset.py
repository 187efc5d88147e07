"""The synthetic set on disk: layout, labels, contact sheet and seeded reproducibility."""

import csv
import hashlib
from pathlib import Path

import pytest
from PIL import Image

from kneegrade_ml.data.folders import count_by_grade, scan_dataset
from kneegrade_ml.synth.dataset import SPLIT_SIZES, generate_dataset, plan_jobs

SMALL = {"train": 3, "test": 2, "samples": 1}


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "seed0"
    generate_dataset(out, seed=0, split_sizes=SMALL, workers=1, progress=False)
    return out


def test_full_plan_is_the_spec_1510_images():
    jobs = plan_jobs(SPLIT_SIZES)
    assert len(jobs) == 1510
    assert len({job.relpath for job in jobs}) == 1510
    assert SPLIT_SIZES == {"train": 250, "test": 50, "samples": 2}


def test_layout_and_counts(small_set):
    splits = scan_dataset(small_set)
    assert list(splits) == ["train", "test", "samples"]
    for name, per_grade in SMALL.items():
        assert count_by_grade(splits[name]) == dict.fromkeys(range(5), per_grade)


def test_images_are_224_grayscale_8bit_png(small_set):
    for path in small_set.rglob("*/*/*.png"):
        with Image.open(path) as im:
            assert (im.format, im.mode, im.size) == ("PNG", "L", (224, 224))


def test_labels_csv_describes_every_image(small_set):
    with (small_set / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 * sum(SMALL.values())
    expected = {"jsw_medial", "jsw_lateral", "osteophytes", "osteophyte_size"}
    expected |= {"sclerosis", "cysts", "deformity", "side", "grade", "split", "path"}
    assert expected <= set(rows[0])
    for row in rows:
        assert (small_set / row["path"]).is_file()
        assert row["path"].split("/")[1] == row["grade"]


def test_contact_sheet_is_written(small_set):
    with Image.open(small_set / "contact_sheet.png") as sheet:
        assert sheet.width > 224 and sheet.height >= 5 * 100


def test_same_seed_is_byte_identical_whatever_the_workers(small_set, tmp_path):
    generate_dataset(tmp_path, seed=0, split_sizes=SMALL, workers=2, progress=False)
    assert _digests(tmp_path) == _digests(small_set)


def test_another_seed_gives_other_images(small_set, tmp_path):
    generate_dataset(tmp_path, seed=1, split_sizes=SMALL, workers=1, progress=False)
    ours, theirs = _digests(small_set), _digests(tmp_path)
    assert ours.keys() == theirs.keys()
    images = [k for k in ours if k.endswith(".png") and "contact" not in k]
    assert all(ours[k] != theirs[k] for k in images)
