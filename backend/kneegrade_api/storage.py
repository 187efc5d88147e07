"""Uploaded images on disk: generated names under ``<uploads dir>/<user id>/``, never the client's.

Each upload has its image, a thumbnail and (for models that explain themselves) a heatmap.
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
    """Where one upload's files were written, relative to the uploads folder."""

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
        thumbnail: bytes,
        heatmap: bytes | None = None,
    ) -> StoredImage:
        """Write the files; if any write fails, none is left behind."""
        folder = Path(str(user_id))
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        stem = uuid.uuid4().hex
        stored = StoredImage(
            str(folder / f"{stem}{extension}"),
            str(folder / f"{stem}.thumb.png"),
            str(folder / f"{stem}.heatmap.png") if heatmap is not None else None,
        )
        contents = [image, thumbnail] + ([heatmap] if heatmap is not None else [])
        try:
            for relative, data in zip(stored.paths, contents, strict=True):
                self.path(relative).write_bytes(data)
        except BaseException:
            self.delete(stored)
            raise
        return stored

    def delete(self, stored: StoredImage) -> None:
        """Remove the files; one already gone is not an error."""
        for relative in stored.paths:
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
