"""Results into the PACS: each prediction of a DICOM upload is sent to ``KNEEGRADE_PACS_URL`` with
DICOMweb STOW-RS (dicomweb-client) as an SR, a Secondary Capture and an Encapsulated PDF.

Never lost: the three ``deliveries`` rows are written in the same transaction as the prediction,
and a background thread (started with the app) sends whatever is due, at start-up too. A failed
send is kept with its error and tried again after a back-off that doubles up to a cap; a delivery
is only ``sent`` once the PACS has said it stored the instance. Several server processes share
the work safely: a delivery is claimed by bumping its attempt count where it still has the count
that was read, so only one process sends it at a time. A resend after a crash is harmless: the
outputs' UIDs are stable, so the PACS stores the same instance again, not a new one.

Only DICOM uploads are sent: the results of a PNG or JPEG have no study in the PACS to join.
"""

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kneegrade_api.dicom_out import KINDS, dicom_dataset
from kneegrade_api.models import Delivery, Prediction, utcnow
from kneegrade_api.state import AppState

log = logging.getLogger(__name__)

DUE = ("pending", "retrying")
BATCH = 20
"""Deliveries looked at per pass."""

Sender = Callable[[Sequence[Dataset]], None]


class DeliveryFailed(Exception):
    """The PACS answered, but did not store the instance."""


def new_deliveries(predictions: Sequence[Prediction]) -> list[Delivery]:
    """The SR, SC and PDF deliveries of new predictions, to add in their transaction."""
    return [
        Delivery(prediction=prediction, kind=kind)
        for prediction in predictions
        for kind in KINDS
    ]


def stow_sender(url: str, timeout: float) -> Sender:
    """Sends instances with STOW-RS; raises unless the PACS stored every one."""
    client = DICOMwebClient(url=url, timeout=timeout)
    client.set_http_retry_params(
        retry=False
    )  # the delivery loop retries, with back-off

    def send(datasets: Sequence[Dataset]) -> None:
        answer = client.store_instances(list(datasets))
        failed = answer.get("FailedSOPSequence") if answer is not None else None
        if failed:
            reasons = ", ".join(str(item.get("FailureReason", "?")) for item in failed)
            raise DeliveryFailed(f"the PACS refused the instance (reason {reasons})")

    return send


def backoff(settings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: doubling from the first, up to the cap."""
    seconds = settings.pacs_retry_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.pacs_retry_max_seconds))


class Deliverer:
    """The background loop that sends due deliveries, one thread per server process."""

    def __init__(self, state: AppState, send: Sender | None = None):
        settings = state.settings
        if settings.pacs_url is None:
            raise ValueError("no PACS URL is set")
        self.state = state
        self.send = send or stow_sender(
            settings.pacs_url, settings.pacs_timeout_seconds
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Deliverer":
        self._thread = threading.Thread(
            target=self._run, name="kneegrade-pacs-delivery", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the loop must outlive any one pass; it logs why
                log.exception("PACS delivery pass failed; trying again later")
            self._stop.wait(self.state.settings.pacs_poll_seconds)

    def run_once(self) -> int:
        """Try every delivery that is due now; how many were sent."""
        sent = 0
        with self.state.sessions() as session:
            due = session.execute(
                select(Delivery.id, Delivery.attempts)
                .where(Delivery.status.in_(DUE), Delivery.next_attempt_at <= utcnow())
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(BATCH)
            ).all()
            for delivery_id, attempts in due:
                if self._stop.is_set():
                    break
                if self._claim(session, delivery_id, attempts):
                    sent += self._attempt(session, delivery_id)
        return sent

    def _claim(self, session: Session, delivery_id: int, attempts: int) -> bool:
        """Take the delivery for this attempt, unless another process took it first."""
        lease = utcnow() + timedelta(
            seconds=self.state.settings.pacs_timeout_seconds * 4
        )
        claimed = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.attempts == attempts,
                Delivery.status.in_(DUE),
            )
            .values(attempts=attempts + 1, next_attempt_at=lease, updated_at=utcnow())
        )
        session.commit()
        return claimed.rowcount == 1

    def _attempt(self, session: Session, delivery_id: int) -> int:
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        if delivery is None:  # its prediction was purged meanwhile
            return 0
        prediction = delivery.prediction
        if prediction.deleted_at is not None:
            self._finish(session, delivery, "cancelled", None)
            return 0
        try:
            dataset = dicom_dataset(session, self.state, prediction, delivery.kind)
            self.send([dataset])
        except Exception as err:  # noqa: BLE001 (network, HTTP, PACS refusal, no model...)
            session.rollback()
            delivery = session.get(Delivery, delivery_id, populate_existing=True)
            if delivery is None:
                return 0
            error = f"{type(err).__name__}: {err}"[:500]
            log.warning(
                "PACS delivery %s (%s of prediction %s) failed, attempt %s: %s",
                delivery.id,
                delivery.kind,
                delivery.prediction_id,
                delivery.attempts,
                error,
            )
            wait = backoff(self.state.settings, delivery.attempts)
            self._finish(session, delivery, "retrying", error, utcnow() + wait)
            return 0
        self._finish(session, delivery, "sent", None)
        log.info(
            "PACS delivery %s (%s of prediction %s) sent",
            delivery.id,
            delivery.kind,
            delivery.prediction_id,
        )
        return 1

    @staticmethod
    def _finish(
        session: Session,
        delivery: Delivery,
        status: str,
        error: str | None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        now = utcnow()
        delivery.status = status
        delivery.last_error = error
        delivery.updated_at = now
        if next_attempt_at is not None:
            delivery.next_attempt_at = next_attempt_at
        if status == "sent":
            delivery.sent_at = now
        session.commit()


def deliveries_of(session: Session, prediction_id: int) -> list[Delivery]:
    """A prediction's deliveries: SR, SC, PDF."""
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.prediction_id == prediction_id)
            .order_by(Delivery.id)
        )
    )


def start_delivery(state: AppState) -> Deliverer | None:
    """The delivery loop of a server with a PACS URL set; None without one."""
    if state.settings.pacs_url is None:
        return None
    log.info("sending DICOM results to the PACS at %s", state.settings.pacs_url)
    return Deliverer(state).start()
