"""Predictions: upload an X-ray to be graded, then list, fetch, view and delete one's own."""

import unicodedata
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import (
    APIRouter,
    File,
    Form,
    HTTPException,
    Query,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from kneegrade_api import crud
from kneegrade_api.deps import CurrentUser, SessionDep, StateDep
from kneegrade_api.errors import UNAUTHORIZED, error_responses
from kneegrade_api.images import ACCEPTED, decode_upload, read_upload, thumbnail_png
from kneegrade_api.inference import ModelUnavailable
from kneegrade_api.models import Prediction, User
from kneegrade_api.schemas import ModelKind, PredictionOut, PredictionPage
from kneegrade_api.state import AppState
from kneegrade_api.storage import StoredImage, media_type
from kneegrade_ml.grades import GRADE_NAMES, grade_name
from kneegrade_ml.models.names import DEFAULT_MODEL, MODEL_NAMES

router = APIRouter(prefix="/predictions", tags=["predictions"])

NOT_FOUND = {
    404: "No such prediction among the caller's own",
    422: "The prediction id is not an integer",
}
IMAGE_RESPONSES = {
    200: {
        "description": "The picture",
        "content": {
            "image/png": {},
            "image/jpeg": {},
            "image/bmp": {},
            "image/tiff": {},
        },
    },
    **error_responses({**UNAUTHORIZED, **NOT_FOUND}),
}


def prediction_out(prediction: Prediction) -> PredictionOut:
    """The JSON of a stored prediction, with links to its pictures."""
    url = f"/api/predictions/{prediction.id}"
    probabilities = list(prediction.probabilities)
    return PredictionOut(
        id=prediction.id,
        grade=prediction.grade,
        name=grade_name(prediction.grade),
        confidence=prediction.confidence,
        probabilities=probabilities,
        probabilities_named=dict(zip(GRADE_NAMES, probabilities, strict=True)),
        model=prediction.model_kind,
        model_name=MODEL_NAMES.get(prediction.model_kind, prediction.model_kind),
        model_version=prediction.model_version,
        original_filename=prediction.original_filename,
        created_at=prediction.created_at,
        image_url=f"{url}/image",
        thumbnail_url=f"{url}/thumbnail",
    )


def _display_name(filename: str | None) -> str:
    """The client's file name, kept only for display: no folders, no control characters."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name[:255] or "upload"


def _own(session: Session, user: User, prediction_id: int) -> Prediction:
    prediction = crud.get_prediction(session, user.id, prediction_id)
    if prediction is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"prediction {prediction_id} not found"
        )
    return prediction


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Grade an X-ray",
    description=f"Upload a knee radiograph ({ACCEPTED}; the format is detected from the bytes)"
    " as multipart field `file`, optionally choosing the `model`. The image is graded, stored"
    " under a generated name with a thumbnail, and kept in the caller's history.",
    responses=error_responses(
        {
            **UNAUTHORIZED,
            413: "The file or its pixel count is over the limit",
            415: f"An image, but not {ACCEPTED}",
            422: "Empty, corrupt or not an image; or an unknown model",
            503: "The model asked for is not loaded on this server",
        }
    ),
)
def create_prediction(  # a plain def: FastAPI runs it in its threadpool, off the event loop
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
    file: Annotated[UploadFile, File(description=f"the X-ray: {ACCEPTED}")],
    model: Annotated[
        ModelKind, Form(description="which model grades it")
    ] = DEFAULT_MODEL,
) -> PredictionOut:
    try:
        served = state.registry.get(model)
    except ModelUnavailable as err:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(err)
        ) from err
    data = read_upload(file.file, state.settings.max_upload_bytes)
    upload = decode_upload(data, state.settings.max_image_pixels)
    result = served.predict(upload.image)
    stored = state.store.save(
        user.id, data, upload.extension, thumbnail_png(upload.image)
    )
    try:
        prediction = crud.add_prediction(
            session,
            Prediction(
                user_id=user.id,
                image_path=stored.image_path,
                thumbnail_path=stored.thumbnail_path,
                original_filename=_display_name(file.filename),
                model_kind=served.kind,
                model_version=served.version,
                grade=result.grade,
                confidence=result.confidence,
                probabilities=list(result.probabilities),
            ),
        )
    except BaseException:
        session.rollback()
        state.store.delete(stored)
        raise
    return prediction_out(prediction)


@router.get(
    "",
    summary="The caller's predictions",
    description="Newest first, a page at a time.",
    responses=error_responses({**UNAUTHORIZED, 422: "limit or offset out of range"}),
)
def list_predictions(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100, description="page size")] = 20,
    offset: Annotated[int, Query(ge=0, description="predictions to skip")] = 0,
) -> PredictionPage:
    items, total = crud.list_predictions(session, user.id, limit, offset)
    return PredictionPage(
        items=[prediction_out(p) for p in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{prediction_id}",
    summary="One prediction",
    responses=error_responses({**UNAUTHORIZED, **NOT_FOUND}),
)
def get_prediction(
    prediction_id: int, user: CurrentUser, session: SessionDep
) -> PredictionOut:
    return prediction_out(_own(session, user, prediction_id))


def _file(state: AppState, relative: str, what: str) -> FileResponse:
    path = state.store.path(relative)
    if not path.is_file():
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"the {what} file is missing"
        )
    return FileResponse(path, media_type=media_type(relative))


@router.get(
    "/{prediction_id}/image",
    summary="The uploaded X-ray, as sent",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
)
def get_image(
    prediction_id: int, user: CurrentUser, session: SessionDep, state: StateDep
) -> FileResponse:
    return _file(state, _own(session, user, prediction_id).image_path, "image")


@router.get(
    "/{prediction_id}/thumbnail",
    summary="A PNG thumbnail of the X-ray (at most 128 px)",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
)
def get_thumbnail(
    prediction_id: int, user: CurrentUser, session: SessionDep, state: StateDep
) -> FileResponse:
    return _file(state, _own(session, user, prediction_id).thumbnail_path, "thumbnail")


@router.delete(
    "/{prediction_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a prediction and its pictures",
    response_class=Response,
    responses=error_responses({**UNAUTHORIZED, **NOT_FOUND}),
)
def delete_prediction(
    prediction_id: int, user: CurrentUser, session: SessionDep, state: StateDep
) -> Response:
    prediction = _own(session, user, prediction_id)
    stored = StoredImage(prediction.image_path, prediction.thumbnail_path)
    crud.delete_prediction(session, prediction)
    state.store.delete(stored)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
