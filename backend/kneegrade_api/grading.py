"""Grading one upload, for the single and the batch routes: decode, grade, explain, then store.

The files and the database row are written together: if either fails, neither is left.
"""

import unicodedata
from pathlib import PurePosixPath

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneegrade_api import crud
from kneegrade_api.images import decode_upload, thumbnail_png
from kneegrade_api.inference import ServedModel
from kneegrade_api.models import Prediction, User
from kneegrade_api.state import AppState
from kneegrade_ml.serving import heatmap_png


def display_name(filename: str | None) -> str:
    """The client's file name, kept only for display: no folders, no control characters."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name[:255] or "upload"


def grade_upload(
    session: Session,
    state: AppState,
    user: User,
    served: ServedModel,
    data: bytes,
    filename: str | None,
    idempotency_key: str | None = None,
) -> Prediction:
    """Grade the uploaded bytes and keep them in the user's history; bad input raises an
    ``exceptions`` error saying why. An upload whose ``idempotency_key`` the user already used
    is not graded again: the first one's prediction is the answer, also when both race."""
    if idempotency_key is not None:
        earlier = crud.get_by_idempotency_key(session, user.id, idempotency_key)
        if earlier is not None:
            return earlier
    upload = decode_upload(data, state.settings.max_image_pixels)
    result, heatmap = served.grade(upload.image)
    info = served.info
    stored = state.store.save(
        user.id,
        upload.data,
        ".png",
        thumbnail_png(upload.image),
        heatmap_png(heatmap),
    )
    try:
        return crud.add_prediction(
            session,
            Prediction(
                user_id=user.id,
                image_path=stored.image_path,
                thumbnail_path=stored.thumbnail_path,
                heatmap_path=stored.heatmap_path,
                original_filename=display_name(filename),
                model_id=served.id,
                model_kind=served.kind,
                model_version=info.version,
                model_name=info.name,
                model_trained_on=info.trained_on,
                model_data_kind=info.data_kind,
                grade=result.grade,
                confidence=result.confidence,
                probabilities=list(result.probabilities),
                idempotency_key=idempotency_key,
            ),
        )
    except IntegrityError:
        session.rollback()
        state.store.delete(stored)
        earlier = idempotency_key and crud.get_by_idempotency_key(
            session, user.id, idempotency_key
        )
        if not earlier:
            raise
        return earlier
    except BaseException:
        session.rollback()
        state.store.delete(stored)
        raise
