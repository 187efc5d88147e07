"""Files without rows and rows without files: what a crash between writing an upload's files
and committing its row leaves behind, found (and the orphan files removed) at every start and
by ``kneegrade-api doctor``."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kneegrade_api.models import Prediction
from kneegrade_api.storage import ImageStore

log = logging.getLogger(__name__)

GRACE_SECONDS = 600
"""Files younger than this may belong to an upload another worker is still committing."""


@dataclass(frozen=True)
class StorageReport:
    orphan_files: list[Path]
    """Files under the uploads folder that no prediction names (old enough to judge)."""
    missing_files: list[tuple[int, str]]
    """(prediction id, path) of files a prediction names that are not on disk."""


def check_storage(
    session: Session, store: ImageStore, grace_seconds: float = GRACE_SECONDS
) -> StorageReport:
    rows = session.execute(
        select(
            Prediction.id,
            Prediction.image_path,
            Prediction.thumbnail_path,
            Prediction.heatmap_path,
        )
    ).all()
    named = {(row.id, path) for row in rows for path in row[1:] if path}
    known = {path for _, path in named}
    cutoff = time.time() - grace_seconds
    on_disk = (
        [p for p in store.root.rglob("*") if p.is_file()] if store.root.is_dir() else []
    )
    orphans = [
        p
        for p in on_disk
        if p.relative_to(store.root).as_posix() not in known
        and p.stat().st_mtime < cutoff
    ]
    missing = sorted((i, path) for i, path in named if not store.path(path).is_file())
    return StorageReport(sorted(orphans), missing)


def sweep(
    session: Session, store: ImageStore, grace_seconds: float = GRACE_SECONDS
) -> StorageReport:
    """Remove orphan files; report rows whose files are gone (they answer 404, nothing else)."""
    report = check_storage(session, store, grace_seconds)
    for path in report.orphan_files:
        path.unlink(missing_ok=True)
    if report.orphan_files:
        log.warning(
            "removed %d upload files no prediction names", len(report.orphan_files)
        )
    if report.missing_files:
        log.warning(
            "%d predictions name files that are missing: %s",
            len(report.missing_files),
            report.missing_files[:10],
        )
    return report
