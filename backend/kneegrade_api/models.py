"""ORM tables: users and the predictions they own (the Alembic migrations mirror these)."""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

ROLES = ("clinician", "admin")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and read back timezone-aware, also on SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Named constraints, so later migrations can alter them by name (SQLite batch mode needs it)."""


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """An account; its predictions go with it when it is deleted."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), default="clinician")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    predictions: Mapped[list["Prediction"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Prediction(Base):
    """One graded knee of an upload: where its files are, which model graded it, what it said."""

    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_user_created", "user_id", "created_at"),
        UniqueConstraint(
            "user_id", "idempotency_key", name="uq_predictions_user_id_idempotency_key"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    image_path: Mapped[str] = mapped_column(String(255))
    """Relative to the data folder, under a generated name."""
    thumbnail_path: Mapped[str] = mapped_column(String(255))
    heatmap_path: Mapped[str | None] = mapped_column(String(255), default=None)
    """The model's heatmap as an 8-bit PNG at the image's size; none for older predictions."""
    original_filename: Mapped[str] = mapped_column(String(255))
    model_id: Mapped[str] = mapped_column(String(100))
    """The served model's id (its directory's name), as a client names it."""
    model_kind: Mapped[str] = mapped_column(String(50))
    """Its architecture: ``mobilenetv2``, ``cnn`` or ``rf``."""
    model_version: Mapped[str] = mapped_column(String(100))
    model_name: Mapped[str | None] = mapped_column(String(100), default=None)
    model_trained_on: Mapped[str | None] = mapped_column(String(255), default=None)
    """What the model learned from, when it graded; none for older predictions."""
    model_data_kind: Mapped[str | None] = mapped_column(String(20), default=None)
    """``real``, ``synthetic`` or ``unknown``; none for older predictions."""
    grade: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    probabilities: Mapped[list[float]] = mapped_column(JSON)
    """The five probabilities, indexed by grade."""
    upload_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    """Shared by the knees found in one upload (a bilateral view gives two predictions); none
    for predictions made before knees were localised."""
    knee_side: Mapped[str | None] = mapped_column(String(10), default=None)
    """The patient's side of this knee, ``right`` or ``left``, when known."""
    knee_side_source: Mapped[str | None] = mapped_column(String(10), default=None)
    """How the side is known: ``dicom``, ``layout`` (a bilateral view) or ``anatomy``."""
    knee_box: Mapped[list[float] | None] = mapped_column(JSON, default=None)
    """The knee's square frame in the image's pixels: x, y, width, height."""
    idempotency_key: Mapped[str | None] = mapped_column(String(100), default=None)
    """The client's ``Idempotency-Key`` for the upload: a retry with it gets this row back."""
    study_instance_uid: Mapped[str | None] = mapped_column(
        String(64), default=None, index=True
    )
    """The DICOM study the upload came from (``study.DicomStudy``); none for other images.
    No patient attribute is ever kept: these link to the study, not to the patient."""
    series_instance_uid: Mapped[str | None] = mapped_column(String(64), default=None)
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64), default=None)
    sop_class_uid: Mapped[str | None] = mapped_column(String(64), default=None)
    accession_number: Mapped[str | None] = mapped_column(String(16), default=None)
    modality: Mapped[str | None] = mapped_column(String(16), default=None)
    laterality: Mapped[str | None] = mapped_column(String(16), default=None)
    """The DICOM header's ``ImageLaterality`` (else ``Laterality``): R, L, B or U."""
    body_part_examined: Mapped[str | None] = mapped_column(String(16), default=None)
    view_position: Mapped[str | None] = mapped_column(String(16), default=None)
    pixel_spacing: Mapped[list[float] | None] = mapped_column(JSON, default=None)
    """Row then column spacing in mm of the image as sent, from ``pixel_spacing_attribute``."""
    pixel_spacing_attribute: Mapped[str | None] = mapped_column(
        String(20), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """When its owner deleted it: hidden from them from then on, kept (files too) for the audit
    trail and an admin's restore until ``kneegrade-api purge`` removes it."""

    user: Mapped[User] = relationship(back_populates="predictions")


class AuditEvent(Base):
    """Who did what to which prediction, and when: kept after the prediction and the account go
    (no foreign keys), so the trail outlives what it describes."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(20))
    """One of ``audit.ACTIONS``."""
    prediction_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str | None] = mapped_column(String(20), default=None)
    """What of it: ``image``, ``heatmap``, ``report``, ``fhir``..., or the attempted username."""
    api_key_id: Mapped[int | None] = mapped_column(Integer, default=None)
    """The API key the request came with; none for a person's token."""
    client: Mapped[str | None] = mapped_column(String(64), default=None)
    """The client's address."""


class ApiKey(Base):
    """A machine client's key: it acts as ``user`` within ``scopes``. Only a SHA-256 of the
    secret is kept; ``prefix`` (public) finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship()


DELIVERY_STATUSES = ("pending", "retrying", "sent", "cancelled")


class Delivery(Base):
    """One DICOM output of a prediction on its way to the PACS (``KNEEGRADE_PACS_URL``): made
    with the prediction, in its transaction, then sent off the request path and retried with
    back-off until the PACS takes it (``delivery``), so none is lost."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint(
            "prediction_id", "kind", name="uq_deliveries_prediction_id_kind"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[int] = mapped_column(
        ForeignKey("predictions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    """``sr``, ``sc`` or ``pdf`` (``dicom_out.KINDS``)."""
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    """``pending`` (not tried yet), ``retrying`` (failed, tried again at
    ``next_attempt_at``), ``sent`` or ``cancelled`` (its prediction was deleted first)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    prediction: Mapped[Prediction] = relationship()
