"""Every error as JSON ``{"detail": "<clear message>"}``, and its documentation in the OpenAPI."""

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from kneegrade_api.exceptions import (
    Conflict,
    InvalidUpload,
    KneeGradeError,
    ModelUnavailable,
    NotFound,
    TooManyRequests,
    UnknownModel,
    UnsupportedFormat,
    UploadTooLarge,
)
from kneegrade_api.schemas import ErrorOut

log = logging.getLogger(__name__)

UNAUTHORIZED = {
    401: "Missing, expired, malformed or forged bearer token, or a revoked API key",
    403: "An API key without the scope this method needs (read, predict or delete)",
}
BUSY = {
    429: "Too much heavy work in progress for this account or the server; retry after"
    " Retry-After seconds"
}

STATUS_CODES: dict[type[KneeGradeError], int] = {
    UploadTooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    UnsupportedFormat: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    InvalidUpload: status.HTTP_422_UNPROCESSABLE_CONTENT,
    UnknownModel: status.HTTP_422_UNPROCESSABLE_CONTENT,
    ModelUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    TooManyRequests: status.HTTP_429_TOO_MANY_REQUESTS,
}
"""The one place where the app's errors become HTTP status codes."""


def status_code(error: KneeGradeError) -> int:
    """The status of ``error``: that of its most specific class in ``STATUS_CODES``."""
    return next(STATUS_CODES[cls] for cls in type(error).__mro__ if cls in STATUS_CODES)


class FieldError(BaseModel):
    """One invalid field: where it is and what is wrong with it."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(ErrorOut):
    """A request that failed validation: a readable summary plus each field's error."""

    errors: list[FieldError]


def error_responses(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status code with the error body and what it means."""
    return {
        code: {
            "model": ValidationErrorOut if code == 422 else ErrorOut,
            "description": description,
        }
        for code, description in codes.items()
    }


def _field(loc: tuple[str | int, ...]) -> str:
    """``("body", "username")`` -> ``username``: the request part is implied by the route."""
    parts = loc[1:] if len(loc) > 1 else loc
    return ".".join(str(part) for part in parts)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        {"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


async def _app_error(request: Request, exc: KneeGradeError) -> JSONResponse:
    headers = None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(
        {"detail": str(exc)}, status_code=status_code(exc), headers=headers
    )


async def _validation_error(
    request: Request, exc: RequestValidationError
) -> JSONResponse:
    errors = [
        FieldError(loc=list(e["loc"]), msg=e["msg"], type=e["type"])
        for e in exc.errors()
    ]
    summary = "; ".join(f"{_field(tuple(e.loc))}: {e.msg}" for e in errors)
    body = ValidationErrorOut(detail=summary or "invalid request", errors=errors)
    return JSONResponse(
        body.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"detail": "internal server error"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make framework errors, validation errors and crashes answer in the same JSON shape."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(KneeGradeError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
