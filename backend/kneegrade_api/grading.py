"""Grading one upload, for the single and the batch routes: decode, find the knees, grade and
store (the heatmaps follow, off the request path: ``heatmaps``).

The files and the database rows are written together: if either fails, neither is left.
"""

import unicodedata
import uuid
from pathlib import PurePosixPath

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneegrade_api import audit, crud
from kneegrade_api.audit import Caller
from kneegrade_api.delivery import new_deliveries
from kneegrade_api.exceptions import Conflict, InvalidUpload
from kneegrade_api.images import decode_upload, thumbnail_png
from kneegrade_api.inference import ServedModel
from kneegrade_api.models import Prediction, User
from kneegrade_api.state import AppState
from kneegrade_api.storage import StoredImage
from kneegrade_api.study import DicomStudy, study_of
from kneegrade_ml.serving import GradedKnee, NoKneeFound, knee_crop, knee_hints


def display_name(filename: str | None) -> str:
    """The client's file name, kept only for display: no folders, no control characters."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name[:255] or "upload"


def grade_upload(
    session: Session,
    state: AppState,
    caller: Caller,
    served: ServedModel,
    data: bytes,
    filename: str | None,
    idempotency_key: str | None = None,
) -> list[Prediction]:
    """Grade every knee in the uploaded bytes and keep them in the user's history, one
    prediction per knee (left to right on the image), linked by one upload id. Bad input, or an
    image with no knee, raises an ``exceptions`` error saying why. An upload whose
    ``idempotency_key`` the user already used is not graded again: the first one's predictions
    are the answer, also when both race. Each new knee is a ``created`` event of the audit
    trail."""
    user = caller.user
    if idempotency_key is not None:
        earlier = crud.get_by_idempotency_key(session, user.id, idempotency_key)
        if earlier is not None:
            return _earlier_upload(session, earlier)
    settings = state.settings
    upload = decode_upload(data, settings.max_image_pixels, settings.max_image_side)
    try:
        knees = served.grade(upload.image, state.localiser, knee_hints(data))
    except NoKneeFound as err:
        raise InvalidUpload(str(err)) from err
    stored = state.store.save(
        user.id,
        upload.data,
        ".png",
        [thumbnail_png(knee_crop(upload.image, knee.joint)) for knee in knees],
    )
    upload_id = uuid.uuid4().hex
    study = study_of(data)
    rows = [
        _row(user, served, knee, files, filename, upload_id, study)
        for knee, files in zip(knees, stored, strict=True)
    ]
    rows[0].idempotency_key = idempotency_key
    if settings.pacs_url is not None and study is not None:
        session.add_all(new_deliveries(rows))  # in the predictions' own transaction
    try:
        crud.add_predictions(session, rows)
    except IntegrityError:
        session.rollback()
        _delete_files(state, stored)
        earlier = idempotency_key and crud.get_by_idempotency_key(
            session, user.id, idempotency_key
        )
        if not earlier:
            raise
        return _earlier_upload(session, earlier)
    except BaseException:
        session.rollback()
        _delete_files(state, stored)
        raise
    for row in rows:
        audit.record(session, caller, "created", row.id)
    return rows


def _earlier_upload(session: Session, earlier: Prediction) -> list[Prediction]:
    """The knees of the upload a reused idempotency key names, unless it was deleted since."""
    knees = crud.upload_knees(session, earlier)
    if not knees:
        raise Conflict(
            "the upload made with this Idempotency-Key was deleted;"
            " send it again with a new key to grade it again"
        )
    return knees


def _row(
    user: User,
    served: ServedModel,
    knee: GradedKnee,
    files: StoredImage,
    filename: str | None,
    upload_id: str,
    study: DicomStudy | None,
) -> Prediction:
    info = served.info
    result = knee.prediction
    joint = knee.joint
    return Prediction(
        user_id=user.id,
        image_path=files.image_path,
        thumbnail_path=files.thumbnail_path,
        heatmap_path=files.heatmap_path,
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
        upload_id=upload_id,
        knee_side=joint.side,
        knee_side_source=joint.side_source,
        knee_box=[round(v, 1) for v in joint.box],
        **_study_columns(study),
    )


def _study_columns(study: DicomStudy | None) -> dict:
    """The study linkage of a DICOM upload, as the prediction's columns; none for others."""
    if study is None:
        return {}
    columns = dict(vars(study))
    if study.pixel_spacing is not None:
        columns["pixel_spacing"] = list(study.pixel_spacing)
    return columns


def _delete_files(state: AppState, stored: list[StoredImage]) -> None:
    for index, files in enumerate(stored):
        state.store.delete(files, keep_image=index > 0)
