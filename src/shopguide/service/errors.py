"""ShopGuide errors as HTTP answers: unknown ids 404, missing profiles/data 409, bad data 422."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shopguide.errors import (
    ConfigError,
    DataError,
    InputError,
    JobConflictError,
    ModelFormatError,
    NotFittedError,
    ShopGuideError,
    StoreError,
    UnknownIdError,
)


def _status(error: ShopGuideError) -> int:
    if isinstance(error, UnknownIdError):
        return 404
    if isinstance(error, JobConflictError):
        return 409
    if isinstance(error, DataError | InputError):  # InputError is a ValueError: 422 as those
        return 422
    if isinstance(error, StoreError | ModelFormatError | NotFittedError):
        return 409  # the request is fine; the store is not ready for it
    if isinstance(error, ConfigError):
        return 500
    return 400


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def handle(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ShopGuideError)
        body = {"detail": error.message, "hint": error.hint, "type": type(error).__name__}
        if isinstance(error, JobConflictError):
            body["job_id"] = error.job_id
        return JSONResponse(body, status_code=_status(error))

    async def bad_value(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return JSONResponse({"detail": validation_details(error.errors())}, status_code=422)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ShopGuideError, handle)
    app.add_exception_handler(ValueError, bad_value)


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors without the offending input (it may be personal data, or NaN, which JSON
    cannot carry): where (``loc`` and a dotted ``field``), what and the error type."""
    out = []
    for e in errors:
        loc = [p if isinstance(p, int) else str(p) for p in e.get("loc", ())]
        field = ".".join(str(p) for p in loc[1:] if p != "body") or ".".join(map(str, loc))
        out.append({"loc": loc, "field": field, "msg": str(e.get("msg")), "type": e.get("type")})
    return out
