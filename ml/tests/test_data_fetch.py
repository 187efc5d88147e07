"""``kneegrade fetch-data`` on tiny fake archives in the real Mendeley layout."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from PIL import Image

from kneegrade_ml.cli import main
from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.fetch import fetch_dataset, locate_splits
from kneegrade_ml.data.folders import count_by_grade, scan_dataset

NEST = "KneeXrayData/ClsKLData"
# Images per grade in each folder of the fake kneeKL224; only train/val/test are kept.
PER_GRADE = {"train": 2, "val": 1, "test": 1, "auto_test": 1}
EXPECTED = {"train": 10, "val": 5, "test": 5}
# Each fake crop set's image side, so a test can tell which one was copied.
SIDE = {"kneeKL224": 4, "kneeKL299": 6}


def _png(side: int = 4) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A fake unpacked release: kneeKL224 and kneeKL299, each with auto_test."""
    root = tmp_path_factory.mktemp("release")
    for variant, side in SIDE.items():
        png = _png(side)
        for split, n in PER_GRADE.items():
            for grade in range(5):
                folder = root / NEST / variant / split / str(grade)
                folder.mkdir(parents=True)
                for i in range(n):
                    (folder / f"{9000000 + i}L.png").write_bytes(png)
    (root / "KneeXrayData" / "README.txt").write_text("fake release\n")
    return root


def _zip(tree: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(tree.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(tree).as_posix())
    return path


@pytest.fixture(scope="module")
def archives(tree, tmp_path_factory) -> dict[str, Path]:
    """The fake release as a zip and as a tar.gz."""
    folder = tmp_path_factory.mktemp("archives")
    with tarfile.open(folder / "release.tar.gz", "w:gz") as archive:
        archive.add(tree / "KneeXrayData", "KneeXrayData")
    return {
        "zip": _zip(tree, folder / "release.zip"),
        "tar.gz": folder / "release.tar.gz",
    }


def _sides(out: Path) -> set[tuple[int, int]]:
    return {Image.open(path).size for path in out.rglob("*.png")}


def _assert_installed(out: Path, variant: str = "kneeKL224") -> None:
    """One crop set (the default kneeKL224), its three splits and nothing else."""
    splits = scan_dataset(out)
    assert {name: len(samples) for name, samples in splits.items()} == EXPECTED
    assert count_by_grade(splits["train"]) == dict.fromkeys(range(5), 2)
    side = SIDE[variant]
    assert not list(out.glob("auto_test")) and _sides(out) == {(side, side)}


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archive_unpacks_into_the_standard_layout(archives, tmp_path, kind):
    out = tmp_path / "chen"
    result = fetch_dataset("chen2018", out, source=archives[kind], progress=False)
    _assert_installed(out)
    digest = hashlib.sha256(archives[kind].read_bytes()).hexdigest()
    assert result.sha256 == digest and not result.verified
    assert result.root == f"{NEST}/kneeKL224"
    note = (out / "SOURCE.md").read_text()
    assert "10.17632/56rmx5bjcr.1" in note and "CC BY 4.0" in note and digest in note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chen"]


def test_folder_source_works(tree, tmp_path):
    result = fetch_dataset("chen2018", tmp_path / "chen", source=tree, progress=False)
    _assert_installed(tmp_path / "chen")
    assert result.sha256 is None


def test_download_path_with_a_file_url_and_a_given_checksum(archives, tmp_path):
    digest = hashlib.sha256(archives["zip"].read_bytes()).hexdigest()
    out = tmp_path / "chen"
    result = fetch_dataset(
        "chen2018",
        out,
        url=archives["zip"].as_uri(),
        sha256=digest.upper(),
        progress=False,
    )
    _assert_installed(out)
    assert result.verified and result.origin == archives["zip"].as_uri()


def test_checksum_mismatch_names_both_digests_and_leaves_nothing(archives, tmp_path):
    out = tmp_path / "chen"
    actual = hashlib.sha256(archives["zip"].read_bytes()).hexdigest()
    with pytest.raises(DatasetError, match=f"expected {'0' * 64}, got {actual}"):
        fetch_dataset("chen2018", out, source=archives["zip"], sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_url_is_a_dataset_error(tmp_path):
    missing = (tmp_path / "missing.zip").as_uri()
    with pytest.raises(DatasetError, match="could not download"):
        fetch_dataset("chen2018", tmp_path / "chen", url=missing, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../escape.png", "/abs/escape.png", "C:/x.png"])
def test_path_traversal_member_is_rejected(tmp_path, name):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train/0/ok.png", _png())
        zf.writestr(name, _png())
    with pytest.raises(DatasetError, match="unsafe member path"):
        fetch_dataset("chen2018", tmp_path / "out" / "chen", source=archive)
    assert not (tmp_path / "escape.png").exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_tar_traversal_member_is_rejected(tmp_path):
    archive = tmp_path / "evil.tar"
    png = _png()
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("data/../../escape.png")
        info.size = len(png)
        tf.addfile(info, io.BytesIO(png))
    with pytest.raises(DatasetError, match="unsafe member path"):
        fetch_dataset("chen2018", tmp_path / "chen", source=archive)


def test_archive_without_split_folders_errors_clearly(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("images/a.png", _png())
        zf.writestr("train/normal/b.png", _png())
    with pytest.raises(DatasetError, match="holds no split folders"):
        fetch_dataset("chen2018", tmp_path / "chen", source=archive)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.zip"]


def test_not_an_archive_errors_clearly(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not an archive at all")
    with pytest.raises(DatasetError, match="neither a zip nor a tar"):
        fetch_dataset("chen2018", tmp_path / "chen", source=junk)


def test_non_empty_out_is_refused(archives, tmp_path):
    out = tmp_path / "chen"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="is not empty"):
        fetch_dataset("chen2018", out, source=archives["zip"])
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_empty_out_folder_is_filled(archives, tmp_path):
    out = tmp_path / "chen"
    out.mkdir()
    fetch_dataset("chen2018", out, source=archives["zip"], progress=False)
    _assert_installed(out)


def test_zip_wrapping_the_authors_zip_is_unpacked(tree, tmp_path):
    inner = _zip(tree, tmp_path / "KneeXrayData.zip")
    outer = tmp_path / "56rmx5bjcr-1.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "56rmx5bjcr-1/KneeXrayData.zip")
        zf.writestr("56rmx5bjcr-1/readme.txt", "hello")
    result = fetch_dataset("chen2018", tmp_path / "chen", source=outer, progress=False)
    _assert_installed(tmp_path / "chen")
    assert result.root == f"56rmx5bjcr-1/KneeXrayData.zip/{NEST}/kneeKL224"


def test_locate_splits_prefers_the_variant_and_refuses_ambiguity():
    files = [
        PurePosixPath(f"{v}/{s}/0/a.png")
        for v in ("x/kneeKL224", "x/kneeKL299")
        for s in ("train", "auto_test")
    ]
    assert locate_splits(files, "kneeKL224", "here") == PurePosixPath("x/kneeKL224")
    with pytest.raises(DatasetError, match="several sets of split folders"):
        locate_splits(files, None, "here")


def test_macos_resource_forks_are_not_a_second_copy(tmp_path):
    archive = tmp_path / "mac.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/train/0/a.png", _png())
        zf.writestr("__MACOSX/x/train/0/._a.png", b"fork")
    fetch_dataset("chen2018", tmp_path / "chen", source=archive, progress=False)
    assert [p.name for p in (tmp_path / "chen").rglob("*.png")] == ["a.png"]


def test_the_299_px_crops_are_fetched_by_name(archives, tmp_path, capsys):
    out = tmp_path / "chen299"
    args = ["fetch-data", "chen2018", "--out", str(out), "--variant", "kneeKL299"]
    assert main([*args, "--source", str(archives["zip"])]) == 0
    assert "KL grades in" in capsys.readouterr().out
    _assert_installed(out, "kneeKL299")
    assert f"`{NEST}/kneeKL299/{{train,val,test}}" in (out / "SOURCE.md").read_text()


def test_a_variant_the_data_set_or_the_source_lacks_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="no variant 'kneeKL512'"):
        fetch_dataset("chen2018", tmp_path / "a", variant="kneeKL512", progress=False)
    archive = tmp_path / "only224.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/kneeKL224/train/0/a.png", _png())
    with pytest.raises(DatasetError, match="holds no kneeKL299 split folders"):
        fetch_dataset(
            "chen2018",
            tmp_path / "b",
            source=archive,
            variant="kneeKL299",
            progress=False,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only224.zip"]


def test_cli_fetches_and_prints_the_table(archives, tmp_path, capsys):
    out = tmp_path / "chen"
    args = ["fetch-data", "chen2018", "--out", str(out)]
    assert main([*args, "--source", str(archives["zip"])]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "KL grades in" in printed and "Severe" in printed and "20" in printed
    assert "could not be verified" in printed and "SOURCE.md" in printed
    assert main([*args, "--source", str(archives["zip"])]) == 2
    assert "is not empty" in capsys.readouterr().err
