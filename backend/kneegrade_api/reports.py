"""A stored prediction's PDF report and pictures, for the routes and the DICOM outputs alike."""

from PIL import Image
from sqlalchemy.orm import Session

from kneegrade_api import crud
from kneegrade_api.exceptions import NotFound
from kneegrade_api.heatmaps import heatmap_of
from kneegrade_api.images import png_bytes
from kneegrade_api.models import Prediction
from kneegrade_api.report import KneeMark, ReportContent, mark_knees, render_report
from kneegrade_api.schemas import KneeBox, PredictionOut
from kneegrade_api.state import AppState
from kneegrade_ml.serving import heatmap_caption, overlay_png, read_image

SIDE_SOURCES = {
    "dicom": "from the DICOM header",
    "layout": "from the bilateral view's layout",
    "anatomy": "from the knee's anatomy",
}


def report_pdf(
    session: Session,
    state: AppState,
    prediction: Prediction,
    with_filename: bool = True,
) -> bytes:
    """The one-page PDF report of a prediction: the X-ray with its knees framed, the heatmap
    (when its model can make one here), the grade, probabilities, review flag and model.
    ``with_filename=False`` leaves out the client's file name (it may name the patient), for
    copies that leave KneeGrade, such as the Encapsulated PDF sent to a PACS."""
    xray = xray_of(state, prediction)
    overlay = _overlay(session, state, prediction, xray)
    knees = crud.upload_knees(session, prediction)
    out = PredictionOut.from_row(prediction, knees)
    content = ReportContent(
        prediction_id=prediction.id,
        grade=prediction.grade,
        probabilities=out.probabilities,
        confidence=prediction.confidence,
        review_recommended=out.review_recommended,
        review_reason=out.review_reason,
        model_name=out.model_name,
        model_version=prediction.model_version,
        original_filename=prediction.original_filename
        if with_filename
        else f"scan #{prediction.id}",
        graded_at=prediction.created_at,
        image_png=png_bytes(_marked(xray, out)),
        heatmap_png=overlay,
        heatmap_caption=heatmap_caption(prediction.model_kind),
        model_trained_on=out.model_trained_on,
        model_warning=out.model_warning,
        knee=knee_text(out.side, out.side_source),
        other_knees=[
            f"{knee_text(k.side, None) or 'a knee'}: KL {k.grade} {k.name} (scan #{k.id})"
            for k in out.knees
            if k.id != out.id
        ],
    )
    return render_report(content)


def knee_text(side: str | None, source: str | None) -> str | None:
    """ "Right knee (from the DICOM header)", or None when the side is not known."""
    if side is None:
        return None
    text = f"{side.capitalize()} knee"
    return f"{text} ({SIDE_SOURCES[source]})" if source in SIDE_SOURCES else text


def _marked(xray: Image.Image, out: PredictionOut) -> Image.Image:
    """The X-ray with each knee's box, unless the image is this one knee's crop."""
    boxed = [k for k in out.knees if k.box is not None]
    if len(boxed) == 1 and _fills(boxed[0].box, xray):
        return xray
    marks = [
        KneeMark(
            (k.box.x, k.box.y, k.box.width, k.box.height),
            f"{(k.side or '?')[0].upper()} KL {k.grade}",
            k.grade,
            k.id == out.id,
        )
        for k in boxed
    ]
    return mark_knees(xray, marks)


def _fills(box: KneeBox, image: Image.Image) -> bool:
    return box.width >= max(image.size) - 1


def xray_of(state: AppState, prediction: Prediction) -> Image.Image:
    """The stored X-ray as 8-bit grayscale, whatever format it was uploaded in."""
    return read_image(state.store.read(prediction.image_path, "image"))


def _overlay(
    session: Session, state: AppState, prediction: Prediction, xray: Image.Image
) -> bytes | None:
    """The heatmap over the X-ray for the report; None when it cannot be made here."""
    try:
        return overlay_png(xray, heatmap_of(session, state, prediction))
    except NotFound:
        return None
