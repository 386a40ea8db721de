"""Only this machine's own page drives the dashboard (WSGI middleware around the Dash app).

Three checks, each answering 403 with a one-line reason and no data:

1. **Host**: a request whose ``Host`` is not a loopback name or address is refused. A web
   page on a rebinding domain (``evil.example`` resolving to 127.0.0.1 after the page has
   loaded) reaches this server with its own name in ``Host``; the name check stops it before
   it reads a byte of the store. With ``--allow-network`` an IP address or the served host
   name is accepted too (an IP literal cannot be rebound).
2. **Same origin** for everything but plain reads (GET/HEAD): a POST must carry an ``Origin``
   (or, without one, a ``Referer``) of this very server, or ``Sec-Fetch-Site: same-origin``.
3. **Token**: the same requests must carry the per-launch secret (``X-Beltline-Token``) that
   only the page served by this process knows (it is embedded in the page; a page of another
   origin cannot read it). Every state change (calibrate, record), every callback that returns
   data (sessions, samples) and every download (the export zip travels in a callback's answer)
   is a POST to ``_dash-update-component``, so all of them need both.

Responses also say ``X-Frame-Options: DENY`` (no other site may frame the page and trick a
click), ``Referrer-Policy: same-origin``, ``Cache-Control: no-store`` for callback answers, and
``Server-Timing`` with the time the server spent on the request (``beltline bench dashboard``
reads it).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

TOKEN_HEADER = "X-Beltline-Token"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost",
                            "ip6-loopback"})

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def host_name(host_header: str) -> str:
    """The name or address part of a ``Host`` header ("[::1]:8050" -> "::1")."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1: h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def is_loopback(name: str) -> bool:
    if name.rstrip(".") in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """Wraps ``app`` (a WSGI callable). ``served_host``: the --host the server listens on;
    ``allow_network``: other machines may read the page (their requests still need the
    page's token and the same origin)."""

    def __init__(self, app: WSGIApp, token: str, served_host: str = "127.0.0.1",
                 allow_network: bool = False) -> None:
        self.app = app
        self.token = token
        self.served = served_host.lower()
        self.allow_network = allow_network

    def host_ok(self, host_header: str) -> bool:
        name = host_name(host_header)
        if is_loopback(name):
            return True
        return self.allow_network and (_is_ip(name) or name == self.served)

    def _same_origin(self, env: dict[str, Any]) -> bool:
        host = env.get("HTTP_HOST", "").lower()
        origin = env.get("HTTP_ORIGIN")
        if origin is not None:
            u = urlsplit(origin)
            return u.scheme in ("http", "https") and u.netloc.lower() == host
        referer = env.get("HTTP_REFERER")
        if referer is not None:
            return urlsplit(referer).netloc.lower() == host
        return env.get("HTTP_SEC_FETCH_SITE") == "same-origin"

    def _token_ok(self, env: dict[str, Any]) -> bool:
        got = env.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"), "")
        return hmac.compare_digest(got.encode(), self.token.encode())

    def refuse(self, env: dict[str, Any]) -> str | None:
        """Why this request is refused, or None."""
        if not self.host_ok(env.get("HTTP_HOST", "")):
            return ("this dashboard answers only to this machine's own address "
                    "(http://127.0.0.1 or http://localhost)")
        if env.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            if not self._same_origin(env):
                return "requests from another site are refused"
            if not self._token_ok(env):
                return "this request does not come from this dashboard's own page"
        return None

    def __call__(self, env: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        why = self.refuse(env)
        if why is not None:
            body = f"Forbidden: {why}.\n".encode()
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8"),
                                             ("Content-Length", str(len(body))),
                                             ("Cache-Control", "no-store")])
            return [body]
        t0 = time.perf_counter()  # (no thread CPU clock: a syscall costing 0.1 ms here)
        post = env.get("REQUEST_METHOD") == "POST"

        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None
                  ) -> Any:
            ms = (time.perf_counter() - t0) * 1000
            headers = [*headers, ("X-Frame-Options", "DENY"),
                       ("Referrer-Policy", "same-origin"),
                       ("X-Content-Type-Options", "nosniff"),
                       ("Server-Timing", f"app;dur={ms:.3f}")]
            if post:
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info) if exc_info else \
                start_response(status, headers)

        return self.app(env, start)
