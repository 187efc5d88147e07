"""Uploaded images on disk: generated names under ``<uploads dir>/<user id>/``, never the client's.

Each upload has its image and, for each knee found in it, a thumbnail of that knee and, once it
is made (``heatmaps``), a heatmap.
"""

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from kneegrade_api.exceptions import NotFound

log = logging.getLogger(__name__)

MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
}


@dataclass(frozen=True)
class StoredImage:
    """Where one knee's files were written, relative to the uploads folder."""

    image_path: str
    thumbnail_path: str
    heatmap_path: str | None = None

    @property
    def paths(self) -> list[str]:
        return [
            p for p in (self.image_path, self.thumbnail_path, self.heatmap_path) if p
        ]


class ImageStore:
    """Writes, reads and removes uploads below ``root`` (``settings.uploads_dir``); paths in the
    database are relative to it."""

    def __init__(self, root: Path):
        self.root = root

    def save(
        self,
        user_id: int,
        image: bytes,
        extension: str,
        thumbnails: list[bytes],
    ) -> list[StoredImage]:
        """Write the image once and, per knee, its thumbnail; every knee shares the image (their
        heatmaps come later, ``save_heatmap``). If any write fails, none is left behind."""
        folder = Path(str(user_id))
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        stem = uuid.uuid4().hex
        image_path = str(folder / f"{stem}{extension}")
        written: list[str] = []
        stored = []
        try:
            self._write(image_path, image, written)
            for index, thumbnail in enumerate(thumbnails):
                path = str(folder / f"{stem}.{index}.thumb.png")
                stored.append(
                    StoredImage(image_path, self._write(path, thumbnail, written))
                )
        except BaseException:
            self._remove(written)
            raise
        return stored

    def save_heatmap(self, user_id: int, heatmap: bytes) -> str:
        """Write a heatmap made after its upload; its path, for the prediction's row."""
        relative = str(Path(str(user_id)) / f"{uuid.uuid4().hex}.heatmap.png")
        self.path(relative).parent.mkdir(parents=True, exist_ok=True)
        return self._write(relative, heatmap, [])

    def _write(self, relative: str, data: bytes, written: list[str]) -> str:
        written.append(relative)
        self.path(relative).write_bytes(data)
        return relative

    def delete(self, stored: StoredImage, keep_image: bool = False) -> None:
        """Remove the files (the image too, unless another knee still shows it); one already
        gone is not an error."""
        self._remove(
            [p for p in stored.paths if not (keep_image and p == stored.image_path)]
        )

    def _remove(self, paths: list[str]) -> None:
        for relative in paths:
            try:
                self.path(relative).unlink(missing_ok=True)
            except OSError:
                log.exception("could not remove %s", relative)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def existing(self, relative: str, what: str) -> Path:
        """The path of a stored file; NotFound names ``what`` is missing from the disk."""
        path = self.path(relative)
        if not path.is_file():
            raise NotFound(f"the {what} file is missing")
        return path

    def read(self, relative: str, what: str) -> bytes:
        return self.existing(relative, what).read_bytes()


def media_type(path: str) -> str:
    """The media type of a stored image, from the extension this module gave it."""
    return MEDIA_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")
