"""Batch grading for hospital systems: several images, or zips of them, in one request."""

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile, status
from sqlalchemy.orm import Session

from kneegrade_api.audit import Caller
from kneegrade_api.deps import CallerDep, SessionDep, StateDep, heavy_slot
from kneegrade_api.errors import BUSY, UNAUTHORIZED, error_responses, status_code
from kneegrade_api.exceptions import InvalidUpload, KneeGradeError
from kneegrade_api.grading import grade_upload
from kneegrade_api.images import ACCEPTED, read_upload
from kneegrade_api.inference import ServedModel
from kneegrade_api.schemas import MODEL_FIELD, BatchItem, BatchOut, PredictionOut
from kneegrade_api.state import AppState

BATCH_PATH = "/api/predictions/batch"
router = APIRouter(prefix="/predictions", tags=["predictions"])


@dataclass(frozen=True)
class BatchFile:
    """One image to grade: its name for the results, and its bytes or why they were refused."""

    filename: str
    data: bytes | None = None
    error: KneeGradeError | None = None


def _zip_members(name: str, data: bytes, limit: int) -> Iterator[BatchFile]:
    """The files of a zip, in order; folders and macOS resource forks skipped, none unpacked whole.

    A member over ``limit`` is refused from its declared size, and read no further than ``limit``.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        yield BatchFile(name, error=_bad_zip(err))
        return
    for info in members:
        path = PurePosixPath(info.filename)
        if info.is_dir() or "__MACOSX" in path.parts or path.name.startswith("."):
            continue
        label = f"{name}/{info.filename}"
        try:
            with archive.open(info) as member:
                yield BatchFile(label, read_upload(member, limit))
        except KneeGradeError as err:
            yield BatchFile(label, error=err)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as err:
            yield BatchFile(label, error=_bad_zip(err))


def _bad_zip(err: Exception) -> InvalidUpload:
    return InvalidUpload(f"the zip archive is corrupt or encrypted: {err}")


def _batch_files(files: list[UploadFile], limit: int) -> Iterator[BatchFile]:
    """Each upload, or each member of an uploaded zip, read within the per-file limit."""
    for file in files:
        name = file.filename or "upload"
        try:
            data = read_upload(file.file, limit)
        except KneeGradeError as err:
            yield BatchFile(name, error=err)
            continue
        if zipfile.is_zipfile(io.BytesIO(data)):
            yield from _zip_members(name, data, limit)
        else:
            yield BatchFile(name, data)


@router.post(
    "/batch",
    summary="Grade several X-rays in one request",
    description=f"Multipart field `files`, repeated: images ({ACCEPTED}) and/or zip archives"
    " of them, optionally with one `model` for all. Each image is graded, explained and kept"
    " in the caller's history exactly as `POST /api/predictions` does, and gets its own"
    " result, in order: a file that cannot be graded gets its error and status, and the"
    " others are still graded. At most `KNEEGRADE_MAX_BATCH_FILES` images (zip members"
    " counted) per request.",
    responses=error_responses(
        {
            **UNAUTHORIZED,
            413: "More images than a batch may hold, or the request is too large",
            422: "No files, or an unknown model",
            **BUSY,
            503: "The model asked for is not loaded on this server",
        }
    ),
    dependencies=[Depends(heavy_slot)],
)
def create_batch(  # a plain def: FastAPI runs it in its threadpool, off the event loop
    caller: CallerDep,
    session: SessionDep,
    state: StateDep,
    files: Annotated[
        list[UploadFile], File(description=f"the X-rays ({ACCEPTED}) or zips of them")
    ],
    model: Annotated[str | None, Form(description=MODEL_FIELD)] = None,
) -> BatchOut:
    served = state.registry.get(model)
    settings = state.settings
    limit = settings.max_batch_files
    batch = list(islice(_batch_files(files, settings.max_upload_bytes), limit + 1))
    if len(batch) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"more than {limit} images in one batch; send at most {limit}",
        )
    results = [_grade(session, state, caller, served, item) for item in batch]
    graded = sum(item.prediction is not None for item in results)
    return BatchOut(graded=graded, failed=len(results) - graded, results=results)


def _grade(
    session: Session,
    state: AppState,
    caller: Caller,
    served: ServedModel,
    item: BatchFile,
) -> BatchItem:
    """One file's result: its prediction, or the 4xx its bad input earned."""
    if item.error is not None:
        return _failed(item.filename, item.error)
    try:
        knees = grade_upload(session, state, caller, served, item.data, item.filename)
    except KneeGradeError as err:
        return _failed(item.filename, err)
    return BatchItem(
        filename=item.filename,
        status=status.HTTP_201_CREATED,
        prediction=PredictionOut.from_row(knees[0], knees),
    )


def _failed(filename: str, error: KneeGradeError) -> BatchItem:
    return BatchItem(filename=filename, status=status_code(error), error=str(error))
