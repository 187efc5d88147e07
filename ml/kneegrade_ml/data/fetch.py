"""Fetch a public graded knee X-ray data set into ``OUT/<split>/<grade>/<image>``.

The archive is downloaded (or taken from ``--source``), checked against a sha256 when
one is known, and only its train/val/test grade folders are copied, via a temporary
folder beside ``OUT`` that is renamed into place, so a failure never leaves half a
data set behind.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Protocol

from tqdm import tqdm

from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.folders import IMAGE_SUFFIXES
from kneegrade_ml.grades import GRADES

COPIED_SPLITS = ("train", "val", "test")
_GRADE_DIRS = frozenset(str(g) for g in GRADES)
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DatasetSource:
    """Where a public data set lives, how to check it and how to cite it."""

    title: str
    url: str
    filename: str
    sha256: str | None
    variants: tuple[str, ...]
    """The archive's sets of split folders, by folder name; the first is fetched by default."""
    citation: str
    doi: str
    licence: str
    page: str
    population: str
    """Who the images are of: a model card's first limitation."""


DATASETS: dict[str, DatasetSource] = {
    "chen2018": DatasetSource(
        title="Knee Osteoarthritis Severity Grading Dataset",
        # Mendeley Data's "Download All" archive of version 1.
        url="https://prod-dcd-datasets-cache-zipfiles.s3.eu-west-1.amazonaws.com/"
        "56rmx5bjcr-1.zip",
        filename="56rmx5bjcr-1.zip",
        # Mendeley Data publishes no checksum for this archive.
        sha256=None,
        # The archive holds the splits twice: the 224 px crops the released models are
        # trained on, and 299 px ones.
        variants=("kneeKL224", "kneeKL299"),
        citation="Chen, Pingjun (2018), “Knee Osteoarthritis Severity Grading"
        " Dataset”, Mendeley Data, V1, doi: 10.17632/56rmx5bjcr.1",
        doi="10.17632/56rmx5bjcr.1",
        licence="CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
        page="https://data.mendeley.com/datasets/56rmx5bjcr/1",
        population="Osteoarthritis Initiative (OAI) baseline knee radiographs: US adults"
        " aged 45-79 with, or at risk of, knee osteoarthritis",
    ),
}


@dataclass(frozen=True)
class FetchResult:
    """What was installed and from where, for the command to report."""

    out: Path
    origin: str
    root: str
    sha256: str | None
    verified: bool


class _Reader(Protocol):
    """A source of files (archive or folder) that can list and copy its members."""

    def files(self) -> list[PurePosixPath]: ...

    def copy(self, member: PurePosixPath, dest: Path) -> None: ...


def _safe_member(archive: Path, name: str) -> PurePosixPath:
    """Reject absolute or ``..`` member names, which could write outside the target."""
    posix = name.replace("\\", "/")
    path = PurePosixPath(posix)
    drive = len(posix) > 1 and posix[1] == ":"
    if path.is_absolute() or drive or ".." in path.parts:
        raise DatasetError(
            f"{archive}: unsafe member path {name!r} (absolute or leaving the archive);"
            " refusing to unpack"
        )
    return path


class _ZipReader:
    """Members of a zip file, read without extracting the whole archive."""

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self._archive = archive
        self._names = {
            _safe_member(path, info.filename): info.filename
            for info in archive.infolist()
            if not info.is_dir()
        }

    def files(self) -> list[PurePosixPath]:
        return list(self._names)

    def copy(self, member: PurePosixPath, dest: Path) -> None:
        with self._archive.open(self._names[member]) as src, dest.open("wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)


class _TarReader:
    """Regular-file members of a (compressed) tar; links and devices are never made."""

    def __init__(self, path: Path, archive: tarfile.TarFile) -> None:
        self._archive = archive
        members = {_safe_member(path, m.name): m for m in archive.getmembers()}
        self._members = {name: m for name, m in members.items() if m.isfile()}

    def files(self) -> list[PurePosixPath]:
        return list(self._members)

    def copy(self, member: PurePosixPath, dest: Path) -> None:
        src = self._archive.extractfile(self._members[member])
        assert src is not None, "regular tar members always have a file object"
        with src, dest.open("wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)


class _FolderReader:
    """Files of an already-unpacked folder."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def files(self) -> list[PurePosixPath]:
        return sorted(
            PurePosixPath(p.relative_to(self._root).as_posix())
            for p in self._root.rglob("*")
            if p.is_file()
        )

    def copy(self, member: PurePosixPath, dest: Path) -> None:
        shutil.copyfile(self._root / member, dest)


@contextmanager
def open_source(path: Path) -> Iterator[_Reader]:
    """Open a folder, zip or tar(.gz) as one reader, so callers never branch on type."""
    if path.is_dir():
        yield _FolderReader(path)
        return
    if not path.is_file():
        raise DatasetError(f"source {path} does not exist")
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                yield _ZipReader(path, archive)
        elif tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                yield _TarReader(path, archive)
        else:
            raise DatasetError(f"{path} is neither a zip nor a tar archive")
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        gzip.BadGzipFile,
        zlib.error,
        EOFError,
    ) as err:
        raise DatasetError(f"{path} is a damaged archive: {err}") from err


def download(url: str, dest: Path, progress: bool = True) -> Path:
    """Stream ``url`` to ``dest`` in chunks, so a large archive never sits in memory."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            with (
                dest.open("wb") as out,
                tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=dest.name,
                    disable=not progress,
                ) as bar,
            ):
                while block := response.read(_CHUNK):
                    out.write(block)
                    bar.update(len(block))
    except (OSError, http.client.HTTPException) as err:
        raise DatasetError(
            f"could not download {url}: {err}; fetch it another way and pass"
            " --source ARCHIVE"
        ) from err
    if total is not None and dest.stat().st_size != total:
        raise DatasetError(
            f"download of {url} stopped after {dest.stat().st_size} of {total} bytes"
        )
    return dest


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def normalise_digest(digest: str) -> str:
    """Lower-case a user's sha256 and check it is 64 hex digits, before any download."""
    clean = digest.strip().lower()
    if len(clean) != 64 or any(c not in "0123456789abcdef" for c in clean):
        raise DatasetError(f"--sha256 {digest!r} is not 64 hexadecimal digits")
    return clean


def verify(path: Path, expected: str | None) -> str:
    """Return ``path``'s sha256, failing when it differs from ``expected``."""
    actual = sha256_of(path)
    if expected is not None and actual != expected:
        raise DatasetError(
            f"{path}: sha256 mismatch: expected {expected}, got {actual};"
            " the file is corrupt or not the published archive"
        )
    return actual


def _visible(path: PurePosixPath) -> bool:
    """Skip hidden files and macOS forks, which would pass for a second copy."""
    return not any(p.startswith(".") or p == "__MACOSX" for p in path.parts)


def _split_image(path: PurePosixPath) -> bool:
    """True for ``.../<split>/<grade>/<image>`` with a copied split and a KL grade."""
    return (
        len(path.parts) >= 3
        and path.parts[-3] in COPIED_SPLITS
        and path.parts[-2] in _GRADE_DIRS
        and path.suffix.lower() in IMAGE_SUFFIXES
    )


def locate_splits(
    files: list[PurePosixPath], variant: str | None, where: str, required: bool = False
) -> PurePosixPath:
    """Find the one folder holding the splits, however deep, preferring ``variant``;
    ``required``, only a folder of that name will do."""
    roots = sorted({p.parents[2] for p in files if _split_image(p)})
    preferred = [r for r in roots if r.name == variant]
    if required and not preferred:
        found = ", ".join(r.as_posix() for r in roots) or "none"
        raise DatasetError(f"{where} holds no {variant} split folders (found: {found})")
    if len(roots) == 1:
        return roots[0]
    if len(preferred) == 1:
        return preferred[0]
    if not roots:
        raise DatasetError(
            f"{where} holds no split folders: expected .../<split>/<grade>/<image> with"
            f" splits {', '.join(COPIED_SPLITS)} and grades 0-4"
        )
    raise DatasetError(
        f"{where} holds several sets of split folders"
        f" ({', '.join(str(r) for r in roots)}); unpack one and pass it as --source"
    )


def _is_archive(path: PurePosixPath) -> bool:
    return path.name.lower().endswith(_ARCHIVE_SUFFIXES)


def unpack(
    reader: _Reader,
    staging: Path,
    variant: str | None,
    where: str,
    nested: bool = True,
    required: bool = False,
) -> PurePosixPath:
    """Copy the split images into ``staging/<split>/<grade>/``; return where they were.

    When the source holds no split folders but exactly one inner archive (a "download
    all" zip wrapping the author's own zip), that archive is copied beside ``staging``
    and unpacked instead.
    """
    files = [p for p in reader.files() if _visible(p)]
    inner = [p for p in files if _is_archive(p)]
    if nested and len(inner) == 1 and not any(_split_image(p) for p in files):
        path = staging.parent / f"inner-{inner[0].name}"
        reader.copy(inner[0], path)
        with open_source(path) as archive:
            inner_where = f"{where}:{inner[0]}"
            root = unpack(archive, staging, variant, inner_where, False, required)
        path.unlink()
        return inner[0] / root
    root = locate_splits(files, variant, where, required)
    for member in files:
        if _split_image(member) and member.parents[2] == root:
            dest = staging.joinpath(*member.parts[-3:])
            dest.parent.mkdir(parents=True, exist_ok=True)
            reader.copy(member, dest)
    return root


def _require_empty(out: Path) -> None:
    """Refuse to mix a fetched data set with whatever is already in ``out``."""
    if out.exists() and not out.is_dir():
        raise DatasetError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise DatasetError(
            f"--out {out} is not empty; remove it or choose another folder"
        )


def source_note(entry: DatasetSource, result: FetchResult) -> str:
    """The SOURCE.md text: citation, licence and exactly what the files came from."""
    if result.sha256 is None:
        checksum = "none (copied from an unpacked folder)"
    else:
        state = "verified" if result.verified else "not verified, none published"
        checksum = f"`{result.sha256}` ({state})"
    splits = ",".join(COPIED_SPLITS)
    return (
        f"# {entry.title}\n\n"
        f"{entry.citation}\n\n"
        f"- DOI: https://doi.org/{entry.doi}\n"
        f"- Licence: {entry.licence}\n"
        f"- Dataset page: {entry.page}\n"
        f"- Fetched from: {result.origin}\n"
        f"- sha256 of the archive: {checksum}\n"
        f"- Copied: `{result.root}/{{{splits}}}/<grade>/` (other folders ignored)\n"
        f"- Fetched on: {datetime.now(UTC):%Y-%m-%d}\n"
    )


def _chosen_variant(entry: DatasetSource, name: str, variant: str | None) -> str | None:
    """The set of split folders to copy: ``variant`` if the data set has it, else its default."""
    if variant is None:
        return entry.variants[0] if entry.variants else None
    if variant not in entry.variants:
        known = ", ".join(entry.variants) or "none"
        raise DatasetError(f"{name} has no variant {variant!r} (known: {known})")
    return variant


def fetch_dataset(
    name: str,
    out: Path | str,
    *,
    source: Path | None = None,
    url: str | None = None,
    sha256: str | None = None,
    variant: str | None = None,
    progress: bool = True,
) -> FetchResult:
    """Download (or take ``source``), verify, unpack and install ``name`` at ``out``.

    ``variant`` names which of the archive's sets of split folders to copy (chen2018:
    ``kneeKL224``, the default, or ``kneeKL299``); asked for by name, it must be there.
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    entry = DATASETS[name]
    chosen = _chosen_variant(entry, name, variant)
    out = Path(out)
    _require_empty(out)
    expected = normalise_digest(sha256) if sha256 else entry.sha256
    if source is not None and not source.exists():
        raise DatasetError(f"--source {source} does not exist")
    if sha256 and source is not None and source.is_dir():
        raise DatasetError(f"--sha256 checks an archive, but {source} is a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.fetch-", dir=out.parent))
    try:
        if source is None:
            origin = url or entry.url
            try:
                source = download(origin, work / entry.filename, progress)
            except DatasetError as err:
                raise DatasetError(f"{err} (dataset page: {entry.page})") from err
        else:
            origin = str(source)
        digest = None if source.is_dir() else verify(source, expected)
        staging = work / "dataset"
        staging.mkdir()
        with open_source(source) as reader:
            root = unpack(reader, staging, chosen, origin, required=variant is not None)
        result = FetchResult(
            out=out,
            origin=origin,
            root=root.as_posix(),
            sha256=digest,
            verified=digest is not None and expected is not None,
        )
        (staging / "SOURCE.md").write_text(source_note(entry, result))
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result
