"""Removing deleted predictions for good, after the retention period the operator chooses
(``kneegrade-api purge``): the rows, then the files no row names any more."""

from datetime import timedelta

from sqlalchemy.orm import Session

from kneegrade_api import audit, crud
from kneegrade_api.models import utcnow
from kneegrade_api.storage import ImageStore, StoredImage


def purge_deleted(session: Session, store: ImageStore, older_than_days: float) -> int:
    """Purge predictions deleted more than ``older_than_days`` ago; how many went. The audit
    trail keeps a ``purged`` event for each."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    purged = crud.deleted_before(session, cutoff)
    for prediction in purged:
        prediction_id = prediction.id
        files = StoredImage(
            prediction.image_path, prediction.thumbnail_path, prediction.heatmap_path
        )
        shared = crud.purge(session, prediction)
        store.delete(files, keep_image=shared)
        audit.record_purge(session, prediction_id)
    return len(purged)
