"""Cap request bodies as they stream in, before the multipart parser spools them to disk."""

from fastapi import HTTPException, status
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART_OVERHEAD = 64 * 1024
"""Room for the multipart boundaries and the other form fields around the file itself."""


class BodySizeLimitMiddleware:
    """Refuse a body larger than its limit: at once from Content-Length, else while reading.

    The limit is ``max_bytes``, or the one ``path_limits`` gives the request's path.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: dict[str, int] | None = None
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.max_bytes)
        detail = f"the request body is larger than the limit of {limit:,} bytes"
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse(
                {"detail": detail},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body parsing, which re-raises HTTPException
                    # alone (anything else becomes a 400): this middleware is the HTTP edge.
                    raise HTTPException(
                        status.HTTP_413_CONTENT_TOO_LARGE, detail=detail
                    )
            return message

        await self.app(scope, limited_receive, send)
