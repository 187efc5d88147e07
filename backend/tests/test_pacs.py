"""Results into a PACS with DICOMweb STOW-RS: every output of a DICOM upload is sent, retried with
back-off while the PACS is down, and never lost, not even across a restart. The delivery rules
are checked with a stand-in sender; the real thing against a real Orthanc (Debian's ``orthanc``
and ``orthanc-dicomweb``), started on a free port and stopped after, skipped when absent."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from api_helpers import Account, app_state, knee_dicom, register, upload
from fastapi.testclient import TestClient
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import EncapsulatedPDFStorage, SecondaryCaptureImageStorage
from sqlalchemy import select, update
from test_study_linkage import IDENTIFYING, STUDY_UID

from kneegrade_api.delivery import Deliverer, backoff
from kneegrade_api.main import create_app
from kneegrade_api.models import Delivery, utcnow

ORTHANC = shutil.which("Orthanc")
PLUGINS = [
    Path(
        "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
    ),  # Debian's orthanc-dicomweb
    Path("/usr/lib/orthanc/libOrthancDicomWeb.so"),
]
DICOMWEB_PLUGIN = next((p for p in PLUGINS if p.exists()), None)
needs_orthanc = pytest.mark.skipif(
    ORTHANC is None or DICOMWEB_PLUGIN is None,
    reason="Orthanc and its DICOMweb plugin are not installed"
    " (Debian: apt-get install orthanc orthanc-dicomweb)",
)
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
OUTPUT_CLASSES = {
    COMPREHENSIVE_3D_SR,
    SecondaryCaptureImageStorage,
    EncapsulatedPDFStorage,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Orthanc:
    """A throwaway Orthanc with DICOMweb on its own port and folder; HTTP only, local only."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dicomweb = f"{self.url}/dicom-web"
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "orthanc.json"
        self.config.write_text(
            json.dumps(
                {
                    "Name": "KneeGradeTestPACS",
                    "StorageDirectory": str(folder / "storage"),
                    "IndexDirectory": str(folder / "storage"),
                    "HttpPort": self.port,
                    "DicomServerEnabled": False,
                    "RemoteAccessAllowed": False,
                    "AuthenticationEnabled": False,
                    "Plugins": [str(DICOMWEB_PLUGIN)],
                    "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
                }
            )
        )

    def start(self, timeout: float = 30.0) -> None:
        log = (self.folder / "orthanc.log").open("ab")
        self.process = subprocess.Popen(
            [ORTHANC, str(self.config)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if "dicom-web" in self.get("/plugins"):
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        log_text = (self.folder / "orthanc.log").read_text(errors="replace")
        raise RuntimeError(f"Orthanc did not start:\n{log_text[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def get(self, path: str) -> object:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return json.loads(answer.read())

    def raw(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return answer.read()

    def study_instances(self, study_uid: str) -> list[bytes]:
        """Every instance file the PACS holds in that study."""
        found = self.get_json_post(
            "/tools/find",
            {"Level": "Instance", "Query": {"StudyInstanceUID": study_uid}},
        )
        return [self.raw(f"/instances/{orthanc_id}/file") for orthanc_id in found]

    def get_json_post(self, path: str, body: dict) -> list:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    pacs = Orthanc(tmp_path / "orthanc")
    pacs.start()
    try:
        yield pacs
    finally:
        pacs.stop()


def dicom_knee(sample_png: bytes) -> bytes:
    return knee_dicom(
        sample_png,
        **IDENTIFYING,
        StudyInstanceUID=STUDY_UID,
        AccessionNumber="ACC7781",
        ImageLaterality="R",
    )


def deliveries(client: TestClient, account: Account, prediction_id: int) -> list[dict]:
    response = client.get(
        f"/api/predictions/{prediction_id}/deliveries", headers=account.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(
    what: Callable[[], list[dict]],
    done: Callable[[list[dict]], bool],
    timeout: float = 60.0,
) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        seen = what()
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting, deliveries: {seen}")
        time.sleep(0.2)


def all_sent(seen: list[dict]) -> bool:
    return len(seen) == 3 and all(d["status"] == "sent" for d in seen)


def assert_in_the_pacs(orthanc: Orthanc) -> list[Dataset]:
    """The SR, SC and PDF are in the input's study in the PACS, without the patient."""
    files = orthanc.study_instances(STUDY_UID)
    datasets = [dcmread(io.BytesIO(data)) for data in files]
    assert {ds.SOPClassUID for ds in datasets} == OUTPUT_CLASSES
    for data, ds in zip(files, datasets, strict=True):
        assert ds.StudyInstanceUID == STUDY_UID
        assert ds.AccessionNumber == "ACC7781"
        assert not ds.PatientName and not ds.PatientID and not ds.PatientBirthDate
        for keyword, value in IDENTIFYING.items():
            assert value.encode() not in data, keyword
    return datasets


# The delivery rules, with a stand-in for the PACS.


class FlakyPacs:
    """Refuses the first ``failures`` sends, then keeps what it is sent."""

    def __init__(self, failures: int):
        self.failures = failures
        self.received: list[Dataset] = []

    def __call__(self, datasets: Sequence[Dataset]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("connection refused")
        self.received.extend(datasets)


@pytest.fixture
def quiet_client(settings_for) -> Iterator[TestClient]:
    """An app with a PACS URL whose own delivery loop sleeps: the tests drive passes by hand."""
    settings = settings_for(
        pacs_url="http://127.0.0.1:9/dicom-web",
        pacs_poll_seconds=3600,
        pacs_retry_seconds=10,
        pacs_retry_max_seconds=25,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_failed_sends_are_kept_and_retried_with_backoff(
    quiet_client: TestClient, sample_png: bytes
) -> None:
    account = register(quiet_client)
    made = upload(quiet_client, account, dicom_knee(sample_png), "rf", "knee.dcm")
    assert made.status_code == 201, made.text
    prediction_id = made.json()["id"]
    pending = deliveries(quiet_client, account, prediction_id)
    assert [d["kind"] for d in pending] == ["sr", "sc", "pdf"]
    assert {d["status"] for d in pending} == {"pending"}

    state = app_state(quiet_client)
    pacs = FlakyPacs(failures=3)
    deliverer = Deliverer(state, send=pacs)
    assert deliverer.run_once() == 0  # all three refused
    failed = deliveries(quiet_client, account, prediction_id)
    assert {d["status"] for d in failed} == {"retrying"}
    assert all(d["attempts"] == 1 for d in failed)
    assert all(d["last_error"] == "ConnectionError: connection refused" for d in failed)
    assert deliverer.run_once() == 0  # not due yet: the back-off holds
    assert pacs.received == []

    settings = state.settings
    assert backoff(settings, 1) == timedelta(seconds=10)
    assert backoff(settings, 2) == timedelta(seconds=20)
    assert backoff(settings, 5) == timedelta(seconds=25)  # the cap

    with state.sessions() as session:  # time passes
        session.execute(update(Delivery).values(next_attempt_at=utcnow()))
        session.commit()
    assert deliverer.run_once() == 3
    sent = deliveries(quiet_client, account, prediction_id)
    assert all_sent(sent)
    assert all(d["attempts"] == 2 and d["last_error"] is None for d in sent)
    assert all(d["sent_at"] and d["next_attempt_at"] is None for d in sent)
    assert {ds.StudyInstanceUID for ds in pacs.received} == {STUDY_UID}
    assert deliverer.run_once() == 0  # sent once, not again


def test_only_dicom_uploads_are_sent_and_deleted_ones_are_cancelled(
    quiet_client: TestClient, sample_png: bytes
) -> None:
    account = register(quiet_client)
    png = upload(quiet_client, account, sample_png, "rf").json()
    assert deliveries(quiet_client, account, png["id"]) == []
    made = upload(quiet_client, account, dicom_knee(sample_png), "rf", "knee.dcm")
    prediction_id = made.json()["id"]
    deleted = quiet_client.delete(
        f"/api/predictions/{prediction_id}", headers=account.headers
    )
    assert deleted.status_code == 204
    pacs = FlakyPacs(failures=0)
    Deliverer(app_state(quiet_client), send=pacs).run_once()
    assert pacs.received == []
    with app_state(quiet_client).sessions() as session:
        statuses = session.scalars(
            select(Delivery.status).where(Delivery.prediction_id == prediction_id)
        ).all()
    assert statuses == ["cancelled"] * 3


# Against a real Orthanc.


@needs_orthanc
def test_the_results_arrive_in_the_pacs_in_the_input_study(
    orthanc: Orthanc, settings_for, sample_png: bytes
) -> None:
    settings = settings_for(pacs_url=orthanc.dicomweb, pacs_poll_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        account = register(client)
        made = upload(client, account, dicom_knee(sample_png), "rf", "knee.dcm")
        assert made.status_code == 201, made.text
        prediction_id = made.json()["id"]
        sent = wait_for(lambda: deliveries(client, account, prediction_id), all_sent)
        assert all(d["attempts"] == 1 and d["sent_at"] for d in sent)
        datasets = assert_in_the_pacs(orthanc)
        # What the PACS holds is what the API serves: the same instances.
        served = {
            dcmread(
                io.BytesIO(
                    client.get(
                        f"/api/predictions/{prediction_id}/dicom",
                        params={"kind": kind},
                        headers=account.headers,
                    ).content
                )
            ).SOPInstanceUID
            for kind in ("sr", "sc", "pdf")
        }
    assert {ds.SOPInstanceUID for ds in datasets} == served


@needs_orthanc
def test_a_pacs_that_is_down_gets_the_results_when_it_is_back(
    tmp_path: Path, settings_for, sample_png: bytes
) -> None:
    pacs = Orthanc(tmp_path / "orthanc")  # configured, not started: down
    settings = settings_for(
        pacs_url=pacs.dicomweb,
        pacs_poll_seconds=0.2,
        pacs_retry_seconds=0.3,
        pacs_retry_max_seconds=1,
        pacs_timeout_seconds=5,
    )
    try:
        with TestClient(create_app(settings)) as client:
            account = register(client)
            made = upload(client, account, dicom_knee(sample_png), "rf", "knee.dcm")
            prediction_id = made.json()["id"]
            failing = wait_for(
                lambda: deliveries(client, account, prediction_id),
                lambda seen: all(
                    d["status"] == "retrying" and d["attempts"] >= 2 for d in seen
                ),
            )
            assert all("Connection" in d["last_error"] for d in failing)
            pacs.start()  # back while the server runs: the retry loop delivers
            wait_for(lambda: deliveries(client, account, prediction_id), all_sent)
        assert_in_the_pacs(pacs)
    finally:
        pacs.stop()


@needs_orthanc
def test_what_was_not_sent_before_a_restart_is_sent_after_it(
    tmp_path: Path, settings_for, sample_png: bytes
) -> None:
    pacs = Orthanc(tmp_path / "orthanc")
    settings = settings_for(
        pacs_url=pacs.dicomweb,
        pacs_poll_seconds=0.2,
        pacs_retry_seconds=0.3,
        pacs_retry_max_seconds=1,
    )
    with TestClient(create_app(settings)) as client:
        account = register(client)
        made = upload(client, account, dicom_knee(sample_png), "rf", "knee.dcm")
        prediction_id = made.json()["id"]
        wait_for(
            lambda: deliveries(client, account, prediction_id),
            lambda seen: all(d["status"] == "retrying" for d in seen),
        )
    pacs.start()  # the server is stopped, its deliveries unsent
    try:
        with TestClient(create_app(settings)) as client:  # the same data and database
            wait_for(lambda: deliveries(client, account, prediction_id), all_sent)
        assert_in_the_pacs(pacs)
    finally:
        pacs.stop()
