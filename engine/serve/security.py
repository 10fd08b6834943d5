"""Who may use the web app: the person who started it, from this machine, through its own pages.

- Only the loopback host names are served (a page on another site whose name resolves to 127.0.0.1 is refused:
  DNS rebinding).
- Every request carries the access token: once in the URL that `collateral serve` prints, which sets a cookie
  (HttpOnly, SameSite=Strict) and redirects to the same address without the token; then in that cookie.
- A request another site makes (Sec-Fetch-Site cross-site or same-site, or an Origin or Referer that is not
  this server) is refused, except a top-level navigation, which still needs the token.
- Every form carries a CSRF token (checked by `form_of`), and a state-changing request must come from this origin.
- Every response forbids framing, inline scripts and styles and any other origin (Content-Security-Policy),
  and is not cached (case files are privileged)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    (b"cache-control", b"no-store"),
]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_FIELD = "csrf"


def derive(secret: str, purpose: str) -> str:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Guard:
    """ASGI middleware: loopback host, same origin, access token, security headers."""

    def __init__(self, app: ASGIApp, token: str, cookie: str, hosts: Iterable[str] = LOOPBACK) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie
        self.session = derive(token, "session")
        self.hosts = tuple(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":   # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in HEADERS if k not in present]
            await send(message)

        response = self.refuse(Request(scope))
        if response is not None:
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def refuse(self, request: Request) -> Response | None:
        host = request.headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if hostname not in self.hosts:
            return PlainTextResponse("refused: this server answers only on 127.0.0.1 (localhost)", 403)
        origin = f"{request.url.scheme}://{host}"
        site = request.headers.get("sec-fetch-site")
        if site in ("cross-site", "same-site") and request.headers.get("sec-fetch-mode") != "navigate":
            return PlainTextResponse("refused: a request from another site", 403)
        if request.method not in SAFE_METHODS:
            sender = request.headers.get("origin")
            if sender is None and request.headers.get("referer"):
                parts = urlsplit(request.headers["referer"])
                sender = f"{parts.scheme}://{parts.netloc}"
            if sender is not None and sender != origin:
                return PlainTextResponse("refused: a request from another origin", 403)
            if site in ("cross-site", "same-site"):
                return PlainTextResponse("refused: a request from another site", 403)
        given = request.query_params.get("token")
        if given is not None:
            if not _same(given, self.token):
                return self.no_token()
            if request.method not in ("GET", "HEAD"):
                return PlainTextResponse("refused: the token goes in the address of a page, not in a form", 403)
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, 303)
            response.set_cookie(self.cookie, self.session, httponly=True, samesite="strict", path="/")
            return response
        cookie = request.cookies.get(self.cookie)
        if cookie is None or not _same(cookie, self.session):
            return self.no_token()
        return None

    def no_token(self) -> Response:
        return PlainTextResponse("This page needs the access token: open the address that `collateral serve` printed "
                                 "(it ends with ?token=...).", 403)


async def form_of(request: Request, csrf: str) -> FormData:
    """The submitted form, once its CSRF token is checked (403 otherwise)."""
    form = await request.form(max_files=0, max_fields=20_000, max_part_size=4 * 1024 * 1024)
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not _same(given, csrf):
        raise HTTPException(403, "refused: the form's security token is missing or wrong; reload the page and try again")
    return form

