"""Security headers on every response, and no caching of anything the API answers.

The SPA loads only its own scripts, styles and images (vendored, no CDN), so a strict content
security policy holds for it; the OpenAPI pages at /docs and /redoc load Swagger's own assets and
keep the browser's defaults. API answers carry patient images and grades: never stored by a
browser or a proxy.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; object-src 'none';"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
DOCS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(ALWAYS)
                if not path.startswith(DOCS):
                    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                if path.startswith("/api/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
