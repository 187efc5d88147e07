"""Request and response bodies: the JSON contract the SPA and hospital systems rely on."""

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from kneegrade_api.models import Prediction
from kneegrade_api.security import weak_password_reason
from kneegrade_ml.serving import (
    GRADE_NAMES,
    display_name,
    grade_name,
    heatmap_caption,
    model_warning,
    review_flag,
)

Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9._-]+$"),
    Field(description="3-50 letters, digits, dots, underscores or hyphens"),
]
MODEL_FIELD = (
    "the id of the model that grades it (`GET /api/models`); by default the server's default"
    " model, the released real-radiograph one"
)
"""The ``model`` form field of the grading routes."""

DataKind = Literal["real", "synthetic", "unknown"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
MAX_ID = 2**31 - 1
"""The largest id or offset every database takes (PostgreSQL's INTEGER): beyond it is a 422."""


class ErrorOut(BaseModel):
    """Every error the API returns."""

    detail: str = Field(examples=["prediction 12 not found"])


class UserCreate(BaseModel):
    """A new account. The username is case-insensitive and kept lower-case; the password is
    taken exactly as typed (spaces included), as login takes it, and must not be easy to guess
    (zxcvbn score 2 or more, the username and name counted as known words)."""

    username: Annotated[Username, AfterValidator(str.lower)]
    name: Annotated[str, StringConstraints(strip_whitespace=True)] = Field(
        min_length=1, max_length=100
    )
    password: str = Field(
        min_length=8,
        max_length=256,
        description="8-256 characters, not a common password or a variation of the username",
    )

    @field_validator("password")
    @classmethod
    def _hard_to_guess(cls, password: str, info: ValidationInfo) -> str:
        """Checked after the username and name, which count as words a guesser knows."""
        known = [info.data.get("username", ""), info.data.get("name", "")]
        reason = weak_password_reason(password, *known)
        if reason is not None:
            raise ValueError(reason)
        return password


class UserOut(BaseModel):
    """An account as others see it: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    name: str
    role: Literal["clinician", "admin"]
    created_at: dt.datetime


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


Side = Literal["right", "left"]


class KneeBox(BaseModel):
    """A knee's square frame in the uploaded image's pixels (top-left origin)."""

    x: float
    y: float
    width: float
    height: float


class KneeOut(BaseModel):
    """One knee of an upload, as listed beside each of its knees' predictions."""

    id: int = Field(description="this knee's prediction id")
    side: Side | None = Field(
        description="the patient's side of the knee; null when unknown"
    )
    side_source: Literal["dicom", "layout", "anatomy"] | None = Field(
        description="how the side is known: the DICOM header, the bilateral view's layout"
        " (the patient's right knee on the image's left), or the knee's anatomy (the fibula)"
    )
    box: KneeBox | None = Field(description="where the knee is in the image")
    grade: int = Field(ge=0, le=4)
    name: str
    confidence: Probability
    probabilities: list[Probability] = Field(min_length=5, max_length=5)
    review_recommended: bool
    review_reason: str | None
    heatmap_url: str
    report_url: str

    @classmethod
    def from_row(cls, prediction: Prediction) -> "KneeOut":
        url = f"/api/predictions/{prediction.id}"
        review = review_flag(list(prediction.probabilities))
        return cls(
            id=prediction.id,
            side=prediction.knee_side,
            side_source=prediction.knee_side_source,
            box=_box(prediction),
            grade=prediction.grade,
            name=grade_name(prediction.grade),
            confidence=prediction.confidence,
            probabilities=list(prediction.probabilities),
            review_recommended=review.recommended,
            review_reason=review.reason,
            heatmap_url=f"{url}/heatmap",
            report_url=f"{url}/report",
        )


def _box(prediction: Prediction) -> KneeBox | None:
    if not prediction.knee_box:
        return None
    x, y, width, height = prediction.knee_box
    return KneeBox(x=x, y=y, width=width, height=height)


class StudyOut(BaseModel):
    """The DICOM study an upload came from: what links a grade to its study in a PACS or RIS.
    Nothing that identifies the patient is kept."""

    study_instance_uid: str | None = Field(examples=["1.2.826.0.1.3680043.8.498.1"])
    series_instance_uid: str | None
    sop_instance_uid: str | None
    sop_class_uid: str | None = Field(
        description="what the image is, e.g. 1.2.840.10008.5.1.4.1.1.1.1 (Digital X-Ray)"
    )
    accession_number: str | None = Field(examples=["ACC0001"])
    modality: str | None = Field(examples=["DX"])
    laterality: str | None = Field(
        description="`ImageLaterality` (else `Laterality`) as the header says: R, L, B or U",
        examples=["R"],
    )
    body_part_examined: str | None = Field(examples=["KNEE"])
    view_position: str | None = Field(examples=["AP"])
    pixel_spacing: list[float] | None = Field(
        description="mm between rows, then between columns, of the image as sent",
        examples=[[0.143, 0.143]],
    )
    pixel_spacing_attribute: Literal["PixelSpacing", "ImagerPixelSpacing"] | None = (
        Field(description="which attribute the spacing came from")
    )

    @classmethod
    def from_row(cls, prediction: Prediction) -> "StudyOut | None":
        """The prediction's study; None for an upload that was not DICOM."""
        values = {name: getattr(prediction, name) for name in cls.model_fields}
        if all(value is None for value in values.values()):
            return None
        return cls(**values)


class PredictionOut(BaseModel):
    """One graded knee; probabilities are fractions in 0-1, indexed by KL grade.

    An upload may show more than one knee: each is a prediction of its own, and ``knees``
    lists all of them (this one included), left to right on the image.
    """

    id: int
    grade: int = Field(ge=0, le=4)
    name: str = Field(description="KL name of the grade", examples=["Mild"])
    confidence: Probability
    probabilities: list[Probability] = Field(min_length=5, max_length=5)
    probabilities_named: dict[str, Probability] = Field(
        description="the same probabilities keyed by KL name"
    )
    model: str = Field(
        description="the id of the model that graded it",
        examples=["efficientnet-lite2-chen2018"],
    )
    model_kind: str = Field(examples=["mobilenetv2"])
    model_name: str = Field(examples=["KneeGrade KL MobileNetV2"])
    model_version: str = Field(examples=["1.0.0"])
    model_trained_on: str | None = Field(
        description="what the model learned from; null for predictions made before it was"
        " recorded",
        examples=[
            (
                "real knee radiographs, Knee Osteoarthritis Severity Grading Dataset,"
                " train split (5,778 images)"
            )
        ],
    )
    model_data_kind: DataKind | None = Field(
        description="`real` radiographs, `synthetic` images or `unknown`; null when not"
        " recorded"
    )
    model_warning: str | None = Field(
        description="shown beside the grade when the model is a demo that cannot grade"
        " real radiographs",
        examples=[None],
    )
    heatmap_caption: str = Field(
        description="what the heatmap shows, by the model's kind",
        examples=["Grad-CAM: where the model looked"],
    )
    original_filename: str
    created_at: dt.datetime
    review_recommended: bool = Field(
        description="the grade is uncertain enough for a clinician to check it"
        " (low confidence, undecided on whether OA is present, or split between"
        " neighbouring grades)"
    )
    review_reason: str | None = Field(
        description="why review is recommended, as shown to the clinician",
        examples=["Probability split between Doubtful and Mild (41% / 38%)."],
    )
    image_url: str
    thumbnail_url: str
    heatmap_url: str = Field(
        description="the model's heatmap over the X-ray, made when first asked for"
    )
    report_url: str = Field(description="a one-page PDF report")
    upload_id: str | None = Field(
        description="shared by the knees found in one upload; null for predictions made"
        " before knees were localised"
    )
    side: Side | None = Field(
        description="the patient's side of this knee; null when unknown"
    )
    side_source: Literal["dicom", "layout", "anatomy"] | None = Field(
        description="how the side is known (see `knees`)"
    )
    box: KneeBox | None = Field(
        description="this knee's square frame in the image; the frame is the whole image"
        " when the upload already was a centred crop of one knee"
    )
    knees: list[KneeOut] = Field(
        description="every knee found in the same upload, this one included, left to right"
        " on the image: two for a bilateral view"
    )
    study: StudyOut | None = Field(
        default=None,
        description="the DICOM study, series and instance the upload came from, with its"
        " accession number, modality, laterality, body part, view and pixel spacing; null"
        " for an upload that was not DICOM. Never the patient's identity.",
    )

    @classmethod
    def from_row(
        cls, prediction: Prediction, knees: list[Prediction] | None = None
    ) -> "PredictionOut":
        """The JSON of a stored prediction, with its review flag, links to its pictures and
        the upload's knees (``knees``; by default this one alone)."""
        url = f"/api/predictions/{prediction.id}"
        probabilities = list(prediction.probabilities)
        review = review_flag(probabilities)
        return cls(
            id=prediction.id,
            grade=prediction.grade,
            name=grade_name(prediction.grade),
            confidence=prediction.confidence,
            probabilities=probabilities,
            probabilities_named=dict(zip(GRADE_NAMES, probabilities, strict=True)),
            model=prediction.model_id,
            model_kind=prediction.model_kind,
            model_name=prediction.model_name or display_name(prediction.model_kind),
            model_version=prediction.model_version,
            model_trained_on=prediction.model_trained_on,
            model_data_kind=prediction.model_data_kind,
            model_warning=model_warning(prediction.model_data_kind),
            heatmap_caption=heatmap_caption(prediction.model_kind),
            original_filename=prediction.original_filename,
            created_at=prediction.created_at,
            review_recommended=review.recommended,
            review_reason=review.reason,
            image_url=f"{url}/image",
            thumbnail_url=f"{url}/thumbnail",
            heatmap_url=f"{url}/heatmap",
            report_url=f"{url}/report",
            upload_id=prediction.upload_id,
            side=prediction.knee_side,
            side_source=prediction.knee_side_source,
            box=_box(prediction),
            knees=[KneeOut.from_row(k) for k in (knees or [prediction])],
            study=StudyOut.from_row(prediction),
        )


class DeliveryOut(BaseModel):
    """One DICOM output of a prediction on its way to the PACS (``KNEEGRADE_PACS_URL``)."""

    model_config = ConfigDict(from_attributes=True)

    kind: Literal["sr", "sc", "pdf"]
    status: Literal["pending", "retrying", "sent", "cancelled"] = Field(
        description="`pending` not tried yet, `retrying` failed and tried again at"
        " `next_attempt_at`, `sent` stored by the PACS, `cancelled` the prediction was"
        " deleted before it went"
    )
    attempts: int
    last_error: str | None = Field(description="why the last attempt failed")
    created_at: dt.datetime
    updated_at: dt.datetime
    next_attempt_at: dt.datetime | None = Field(
        description="when it is tried (again); null once sent or cancelled"
    )
    sent_at: dt.datetime | None

    @classmethod
    def from_row(cls, delivery: object) -> "DeliveryOut":
        out = cls.model_validate(delivery)
        if out.status in ("sent", "cancelled"):
            out.next_attempt_at = None
        return out


class PredictionPage(BaseModel):
    """A page of the caller's predictions, newest first."""

    items: list[PredictionOut]
    total: int
    limit: int
    offset: int


class BatchItem(BaseModel):
    """One file of a batch: its prediction, or why it could not be graded."""

    filename: str = Field(description="as sent; `archive.zip/member` for zip members")
    status: int = Field(description="201 when graded, else the error's HTTP status")
    prediction: PredictionOut | None = None
    error: str | None = None


class BatchOut(BaseModel):
    """The results of a batch, in the order the files were sent (zip members in order)."""

    graded: int
    failed: int
    results: list[BatchItem]


class GradeCount(BaseModel):
    grade: int
    name: str
    count: int


class DayCount(BaseModel):
    date: dt.date
    count: int


class ConfidenceBin(BaseModel):
    low: float
    high: float
    count: int


class ModelUsage(BaseModel):
    model: str
    name: str
    count: int


class StatsOut(BaseModel):
    """The caller's dashboard figures."""

    total: int
    mean_confidence: float | None
    last_scan_at: dt.datetime | None
    grades: list[GradeCount] = Field(description="all five grades, zero included")
    per_day: list[DayCount] = Field(description="the last 30 days (UTC), oldest first")
    confidence_histogram: list[ConfidenceBin] = Field(
        description="ten bins of width 0.1"
    )
    models: list[ModelUsage]


class ModelOut(BaseModel):
    """A served model with its model card, provenance and held-out evaluation metrics."""

    id: str = Field(
        description="what to send as `model` to grade with it",
        examples=["efficientnet-lite2-chen2018"],
    )
    kind: str = Field(examples=["mobilenetv2"])
    kind_name: str = Field(
        description="the display name of its kind", examples=["MobileNetV2"]
    )
    name: str = Field(examples=["KneeGrade KL MobileNetV2"])
    version: str = Field(examples=["1.0.0"])
    default: bool
    engine: Literal["onnx", "torch"] = Field(
        description="what runs its forward passes on this server"
    )
    precision: Literal["float32", "int8"] = Field(
        description="their arithmetic: `int8` where the release's int8 network answers its"
        " check images on this CPU as it did when released (the card's metrics are then its)"
    )
    heatmap_caption: str = Field(description="what its heatmaps show")
    data_kind: DataKind = Field(
        description="what it learned from: `real` radiographs, `synthetic` images (a demo)"
        " or `unknown` (not validated on real radiographs)"
    )
    demo: bool = Field(description="true unless it learned from real radiographs")
    warning: str | None = Field(description="shown beside a demo model's grades")
    trained_on: str
    metrics_on: str | None = Field(
        description="which images `metrics` were measured on"
    )
    intended_use: str | None
    limitations: list[str]
    changelog: dict[str, str] = Field(description="release notes by version")
    architecture: str
    input: dict
    hyperparameters: dict
    training: dict | None
    metrics: dict | None
    card: dict = Field(description="the whole model card (model.json)")


class SampleOut(BaseModel):
    """A downloadable demo image."""

    name: str
    grade: int
    grade_name: str
    url: str


class HealthOut(BaseModel):
    """Liveness, database and the state of every model kind."""

    status: Literal["ok", "degraded"]
    database: str
    models: dict[str, str] = Field(
        examples=[{"mobilenetv2": "loaded", "cnn": "missing", "rf": "error: ..."}]
    )
    localiser: str = Field(
        description="the knee-joint localiser: `loaded`, `off`, `missing` or `error: <why>`",
        examples=["loaded"],
    )
    version: str
