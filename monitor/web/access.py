"""Who may read the dashboard and the feeds.

- **On a loopback address** (`127.0.0.1:9090`, the default) the pages are open, unless a token is set.
- **On any other address** (`0.0.0.0:9090` in a container) a token is required: `daemon.dashboard_auth`
  in the configuration, else `$MONITOR_DASHBOARD_TOKEN`. Without one the daemon serves no page (it says
  how to set the token, on the page and in its log) and still answers the probes.
- **With a token set** every page and feed asks for it, on any address: `Authorization: Bearer <token>`,
  or HTTP basic auth with the token as the password (what a browser prompts for, and what feed readers
  send for `https://any:<token>@host/feeds/all.atom`); the user name is free unless
  `dashboard_auth.username` is set. Tokens are compared in constant time.
- `/healthz`, `/livez`, `/readyz` and `/metrics` are always open, as before: orchestrators and Prometheus
  scrape them without credentials, and they show no item text, no error text and no secret (the
  metrics carry watch ids and counts only). `/static/` (the stylesheet) is open too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from monitor.config import DASHBOARD_TOKEN_ENV
from monitor.web import render

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/metrics")
OPEN_PREFIXES = ("/static/",)
REALM = "court-filing-monitor"

Verdict = Literal["ok", "login", "off"]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: 127.0.0.0/8, ::1, `localhost`."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as reachable from elsewhere


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison (of digests, so that not even the length leaks)."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest())


@dataclass(frozen=True)
class Access:
    token: str | None
    username: str | None
    exposed: bool  # served on an address other machines can reach
    listen: str = ""  # the address, for the messages

    def verdict(self, authorization: str | None) -> Verdict:
        if self.token is None:
            return "off" if self.exposed else "ok"
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            return "ok" if _same(credentials, self.token) else "login"
        if scheme.lower() == "basic" and credentials:
            try:
                user, _, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return "login"
            user_ok = self.username is None or _same(user, self.username)
            return "ok" if _same(password, self.token) and user_ok else "login"
        return "login"


class Gate:
    """ASGI middleware in front of the dashboard's pages and feeds: lets a request through, asks for the
    token (401), or refuses because no token is set on a public address (403)."""

    def __init__(self, app: ASGIApp, access: Callable[[], Access]):
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        access = self.access()
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), None)
        verdict = access.verdict(header)
        if verdict == "ok":
            await self.app(scope, receive, send)
            return
        if verdict == "login":
            status, headers = 401, [(b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode())]
        else:
            status, headers = 403, []
        body = render.page("access.html", verdict=verdict, access=access, env_name=DASHBOARD_TOKEN_ENV).encode()
        headers += [(k.lower().encode(), v.encode()) for k, v in render.SECURITY_HEADERS.items()]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})
