"""Predictions: upload an X-ray to be graded, then list, fetch, view, report and delete one's own."""

from typing import Annotated, Literal

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from kneegrade_api import audit, crud
from kneegrade_api.audit import Action, Caller
from kneegrade_api.delivery import deliveries_of
from kneegrade_api.deps import CallerDep, CurrentUser, SessionDep, StateDep, heavy_slot
from kneegrade_api.dicom_out import MEDIA_TYPE, Kind, dicom_output
from kneegrade_api.errors import BUSY, UNAUTHORIZED, error_responses
from kneegrade_api.fhir import diagnostic_report
from kneegrade_api.grading import grade_upload
from kneegrade_api.heatmaps import heatmap_of
from kneegrade_api.images import ACCEPTED, read_upload
from kneegrade_api.models import Prediction
from kneegrade_api.reports import report_pdf, xray_of
from kneegrade_api.schemas import (
    MAX_ID,
    MODEL_FIELD,
    DeliveryOut,
    PredictionOut,
    PredictionPage,
)
from kneegrade_api.state import AppState
from kneegrade_api.storage import media_type
from kneegrade_ml.serving import (
    colour_layer_png,
    overlay_png,
)

router = APIRouter(prefix="/predictions", tags=["predictions"])
PredictionId = Annotated[int, Path(ge=1, le=MAX_ID, description="the prediction's id")]

NOT_FOUND = {
    404: "No such prediction among the caller's own",
    422: "The prediction id is not an integer from 1 to 2147483647",
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


DICOM_NOTE = (
    " A DICOM file is read for its pixels and display attributes (rescale, VOI LUT or"
    " window, photometric interpretation), the knees' side (`ImageLaterality`,"
    " `Laterality`, `PatientOrientation`) and its study linkage, kept as `study` (study,"
    " series and SOP instance UIDs, SOP class, accession number, modality, laterality, body"
    " part, view, pixel spacing): the file itself is not kept, only a PNG of the decoded"
    " image, and no patient attribute (name, IDs, birth date, address, institution,"
    " physicians...) is read or stored."
)


def _own(
    session: Session,
    caller: Caller,
    prediction_id: int,
    action: Action | None = "viewed",
    detail: str | None = None,
) -> Prediction:
    """The caller's own live prediction, the access recorded in the audit trail (unless
    ``action`` is None); else a 404."""
    prediction = crud.get_prediction(session, caller.user.id, prediction_id)
    if prediction is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"prediction {prediction_id} not found"
        )
    if action is not None:
        audit.record(session, caller, action, prediction.id, detail)
    return prediction


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Grade an X-ray",
    description=f"Upload a knee radiograph ({ACCEPTED}; the format is detected from the bytes)"
    " as multipart field `file`, optionally choosing the `model`. Any framing is taken: a"
    " centred crop of one knee, a wider view, a bilateral standing view or a full-length leg."
    " Each knee joint in it is found, cropped as the models were trained, graded and explained"
    " (a heatmap); the image is stored under a generated name and every knee kept in the"
    " caller's history as a prediction of its own. The answer is the first knee from the"
    " image's left, with `knees` listing every knee (a bilateral view gives two, each with the"
    " patient's `side` and its `box`); a single-knee client reads the top-level grade as"
    " before. `review_recommended` flags an uncertain grade." + DICOM_NOTE,
    responses=error_responses(
        {
            **UNAUTHORIZED,
            413: "The file or its pixel count is over the limit",
            415: f"An image, but not {ACCEPTED}; or a DICOM compression not supported",
            409: "The Idempotency-Key names an upload that was deleted since",
            422: "Empty, corrupt or not an image; malformed DICOM; no knee joint found in"
            " the image; or an unknown model",
            **BUSY,
            503: "The model asked for is not loaded on this server",
        }
    ),
    dependencies=[Depends(heavy_slot)],
)
def create_prediction(  # a plain def: FastAPI runs it in its threadpool, off the event loop
    caller: CallerDep,
    session: SessionDep,
    state: StateDep,
    file: Annotated[UploadFile, File(description=f"the X-ray: {ACCEPTED}")],
    model: Annotated[str | None, Form(description=MODEL_FIELD)] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=100,
            description="any string the client picks per upload: a retry with the same key"
            " (say, after a lost answer) gets the same prediction back, graded and stored once",
        ),
    ] = None,
) -> PredictionOut:
    served = state.registry.get(model)
    data = read_upload(file.file, state.settings.max_upload_bytes)
    knees = grade_upload(
        session, state, caller, served, data, file.filename, idempotency_key
    )
    return PredictionOut.from_row(knees[0], knees)


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
    offset: Annotated[
        int, Query(ge=0, le=MAX_ID, description="predictions to skip")
    ] = 0,
) -> PredictionPage:
    items, total = crud.list_predictions(session, user.id, limit, offset)
    knees = crud.knees_by_upload(session, items)
    return PredictionPage(
        items=[PredictionOut.from_row(p, knees.get(p.upload_id)) for p in items],
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
    prediction_id: PredictionId, caller: CallerDep, session: SessionDep
) -> PredictionOut:
    prediction = _own(session, caller, prediction_id)
    return PredictionOut.from_row(prediction, crud.upload_knees(session, prediction))


def _file(state: AppState, relative: str, what: str) -> FileResponse:
    path = state.store.existing(relative, what)
    return FileResponse(path, media_type=media_type(relative))


@router.get(
    "/{prediction_id}/image",
    summary="The uploaded X-ray, as sent",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
)
def get_image(
    prediction_id: PredictionId, caller: CallerDep, session: SessionDep, state: StateDep
) -> FileResponse:
    prediction = _own(session, caller, prediction_id, "viewed", "image")
    return _file(state, prediction.image_path, "image")


@router.get(
    "/{prediction_id}/thumbnail",
    summary="A PNG thumbnail of the X-ray (at most 128 px)",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
)
def get_thumbnail(
    prediction_id: PredictionId, caller: CallerDep, session: SessionDep, state: StateDep
) -> FileResponse:
    """Not audited: the history shows every thumbnail; opening one is the view."""
    prediction = _own(session, caller, prediction_id, action=None)
    return _file(state, prediction.thumbnail_path, "thumbnail")


@router.get(
    "/{prediction_id}/heatmap",
    summary="The model's heatmap over the X-ray (PNG)",
    description="Where the model looked for the grade it gave: Grad-CAM for the neural"
    " networks, pixel importance for the Random Forest (the same for every image), over the"
    " whole X-ray and zero outside this knee's box. It is made on the first request for it (by"
    " the model that graded, which must be loaded) and kept, so an upload never waits for it."
    " `layer=overlay` (default) blends it into the X-ray; `layer=colour` is the heatmap"
    " alone, see-through where cold, at the X-ray's size, for viewers with an opacity control.",
    response_class=Response,
    responses={
        200: {"description": "The PNG", "content": {"image/png": {}}},
        **error_responses(
            {
                **UNAUTHORIZED,
                404: "No such prediction among the caller's own, or it has no heatmap and"
                " the model that graded it is not loaded here",
                422: "The prediction id is not an integer, or an unknown layer",
                **BUSY,
            }
        ),
    },
    dependencies=[Depends(heavy_slot)],
)
def get_heatmap(
    prediction_id: PredictionId,
    caller: CallerDep,
    session: SessionDep,
    state: StateDep,
    layer: Annotated[
        Literal["overlay", "colour"], Query(description="blended, or the layer alone")
    ] = "overlay",
) -> Response:
    prediction = _own(session, caller, prediction_id, "viewed", "heatmap")
    heatmap = heatmap_of(session, state, prediction)
    if layer == "colour":
        picture = colour_layer_png(heatmap)
    else:
        picture = overlay_png(xray_of(state, prediction), heatmap)
    return Response(picture, media_type="image/png")


@router.get(
    "/{prediction_id}/report",
    summary="A one-page PDF report",
    description="The X-ray, its heatmap, the grade, the five probabilities, the review flag,"
    " the model and the date, with a notice that it is not for diagnostic use without"
    " clinician review.",
    response_class=Response,
    responses={
        200: {"description": "The PDF", "content": {"application/pdf": {}}},
        **error_responses({**UNAUTHORIZED, **NOT_FOUND, **BUSY}),
    },
    dependencies=[Depends(heavy_slot)],
)
def get_report(
    prediction_id: PredictionId, caller: CallerDep, session: SessionDep, state: StateDep
) -> Response:
    prediction = _own(session, caller, prediction_id, "downloaded", "report")
    filename = f"kneegrade-report-{prediction.id}.pdf"
    return Response(
        report_pdf(session, state, prediction),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/{prediction_id}/fhir",
    summary="The prediction as a FHIR R4 DiagnosticReport",
    description="A DiagnosticReport (FHIR R4B, validated with `fhir.resources`) with the KL"
    " grade as a contained Observation (its five probabilities as components, the knee's side,"
    " the review flag as interpretation) and the model as a contained Device; the PDF report"
    " is linked. No patient is named: KneeGrade keeps no patient identity.",
    response_class=Response,
    responses={
        200: {"description": "The report", "content": {"application/fhir+json": {}}},
        **error_responses({**UNAUTHORIZED, **NOT_FOUND}),
    },
)
def get_fhir(
    prediction_id: PredictionId, caller: CallerDep, session: SessionDep
) -> Response:
    prediction = _own(session, caller, prediction_id, "downloaded", "fhir")
    out = PredictionOut.from_row(prediction, crud.upload_knees(session, prediction))
    report = diagnostic_report(out)
    return Response(
        report.model_dump_json(exclude_none=True), media_type="application/fhir+json"
    )


@router.get(
    "/{prediction_id}/dicom",
    summary="The prediction as DICOM: SR, Secondary Capture or Encapsulated PDF",
    description="A DICOM Part 10 file a PACS can store beside the X-ray, in the same study (the"
    " input's StudyInstanceUID and accession number; an upload that was not DICOM gets a"
    " study UID of its own, the same for all its knees), in a new series per kind. `kind=sr`:"
    " a Comprehensive 3D SR holding a TID 1500 measurement report with the KL grade and the"
    " review flag as coded qualitative evaluations, the five probabilities, the model (name"
    " and version) and the knee's side. `kind=sc`: a Secondary Capture of the X-ray with this"
    " knee's heatmap. `kind=pdf`: the PDF report as Encapsulated PDF. The UIDs are derived"
    " from the study, the prediction and the kind, so a second download is the same instance"
    " (a PACS keeps it once). The patient attributes are present and empty: KneeGrade keeps"
    " no patient identity.",
    response_class=Response,
    responses={
        200: {"description": "The DICOM file", "content": {MEDIA_TYPE: {}}},
        **error_responses(
            {
                **UNAUTHORIZED,
                404: "No such prediction among the caller's own, or (`sc`) it has no"
                " heatmap and the model that graded it is not loaded here",
                422: "The prediction id is not an integer, or an unknown kind",
                **BUSY,
            }
        ),
    },
    dependencies=[Depends(heavy_slot)],
)
def get_dicom(
    prediction_id: PredictionId,
    caller: CallerDep,
    session: SessionDep,
    state: StateDep,
    kind: Annotated[
        Kind,
        Query(
            description="`sr` structured report, `sc` secondary capture, `pdf` report"
        ),
    ] = "sr",
) -> Response:
    prediction = _own(session, caller, prediction_id, "downloaded", f"dicom-{kind}")
    filename = f"kneegrade-{prediction.id}-{kind}.dcm"
    return Response(
        dicom_output(session, state, prediction, kind),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/{prediction_id}/deliveries",
    summary="Where the prediction's DICOM outputs stand on their way to the PACS",
    description="With `KNEEGRADE_PACS_URL` set, each prediction of a DICOM upload is sent to"
    " the PACS with STOW-RS as an SR, an SC and a PDF (see `/dicom`), off the request path,"
    " and retried with back-off until the PACS stores it. One entry per output: its status,"
    " attempts, last error and times. Empty when no PACS is set or the upload was not DICOM.",
    responses=error_responses({**UNAUTHORIZED, **NOT_FOUND}),
)
def get_deliveries(
    prediction_id: PredictionId, caller: CallerDep, session: SessionDep
) -> list[DeliveryOut]:
    prediction = _own(session, caller, prediction_id, action=None)
    return [DeliveryOut.from_row(d) for d in deliveries_of(session, prediction.id)]


@router.delete(
    "/{prediction_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a prediction",
    description="Deletes this knee's prediction from the caller's history at once. It is kept"
    " out of sight (files too) for the audit trail and an administrator's restore until the"
    " operator's `kneegrade-api purge` removes it for good.",
    response_class=Response,
    responses=error_responses({**UNAUTHORIZED, **NOT_FOUND}),
)
def delete_prediction(
    prediction_id: PredictionId, caller: CallerDep, session: SessionDep
) -> Response:
    prediction = _own(session, caller, prediction_id, "deleted")
    crud.soft_delete(session, prediction)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
