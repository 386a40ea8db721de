"""The dashboard's web server: a live session served as a local web page."""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import secrets
import socket
import sys
import threading
import webbrowser
from pathlib import Path

from waitress import wasyncore
from waitress.server import create_server

from beltline.dashboard.app import build_app
from beltline.dashboard.guard import Guard
from beltline.errors import BeltlineError, UsageError
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession

log = logging.getLogger(__name__)


# waitress, not werkzeug's development server: werkzeug closes the connection after every
# answer ("Connection: close") and starts a thread per connection, so a polling tab paid a TCP
# set-up and a thread start five times a second. waitress keeps the tab's connection alive and
# answers from a fixed pool of threads.
THREADS = 4
# the page's requests are a few kB (callback inputs, never a file): a bigger body is refused
# (413) before it is read, rather than spooled to a temporary file (waitress's default: 1 GiB)
MAX_BODY = 1 << 20


def _no_address(host: str) -> BeltlineError:
    return BeltlineError(f"cannot serve on --host {host}: this machine has no such address")


def _port_error(exc: OSError | ValueError, host: str, port: int) -> BeltlineError:
    if isinstance(exc, ValueError):  # waitress: a host that resolves to no address
        return _no_address(host)
    if exc.errno == errno.EADDRINUSE:
        return BeltlineError(
            f"port {port} on {host} is already in use (another program, or another "
            f"`beltline monitor`): choose another one with --port, e.g. --port {port + 1}")
    if exc.errno == errno.EACCES:
        return BeltlineError(f"port {port} needs administrator rights here: choose a port "
                             "above 1023 with --port")
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc,
                                                                         socket.gaierror):
        return _no_address(host)
    return BeltlineError(f"cannot serve on {host}:{port}: {exc.strerror or exc}")


def check_port(host: str, port: int) -> None:
    """Fail early (before a session starts) if ``port`` cannot be served on ``host``."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
        try:
            s.bind((host, port))
        except OSError as exc:
            raise _port_error(exc, host, port) from None


class Server:
    """The dashboard's web server in a thread of its own (``url``, ``token``, ``stop()``).
    Every launch has its own secret token, embedded in the page it serves (``guard``)."""

    def __init__(self, live: LiveSession | None, store_path: Path | None, settings: Settings,
                 host: str = "127.0.0.1", port: int = 8050, allow_network: bool = False
                 ) -> None:
        self.token = secrets.token_urlsafe(32)
        app = build_app(live, store_path, settings, token=self.token)
        app.server.wsgi_app = Guard(app.server.wsgi_app, self.token, host, allow_network)
        self._map: dict[int, object] = {}
        try:
            # (ident: waitress's "Server" header would only tell a visitor what runs here)
            self.http = create_server(app.server, map=self._map, host=host, port=port,
                                      threads=THREADS, ident="", clear_untrusted_proxy_headers=True,
                                      max_request_body_size=MAX_BODY)
        except (OSError, ValueError) as exc:
            raise _port_error(exc, host, port) from None
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        self.url = f"http://{shown}:{self.http.effective_port}/"
        self.thread = threading.Thread(target=self.http.run, name="beltline-web", daemon=True)

    def start(self) -> Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        # the listening socket and every open connection closed: the serving loop ends with
        # nothing left to watch; the pool's threads finish what they answer. The loop's own
        # thread closes them (through waitress's trigger): closed from here, a socket could
        # vanish under the loop's select (EBADF in the serving thread)
        if self.thread.is_alive():
            self.http.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
        else:
            wasyncore.close_all(self._map)
        self.http.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        self.thread.join(5)


def check_host(host: str, allow_network: bool) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not allow_network:
        raise UsageError(f"--host {host} would let other machines on the network see your "
                         "health data; add --allow-network if that is what you want")


def has_display() -> bool:
    """Whether a browser window can open here: always on Windows and macOS; on Linux and the
    BSDs only with a graphical session (or a $BROWSER the user chose)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"))


def open_browser(url: str) -> bool:
    """Open ``url`` in the user's browser; False when there is none to open (a headless
    machine: a text browser would take over the terminal, so none is tried)."""
    if not has_display():
        return False
    try:
        return bool(webbrowser.open(url))
    except webbrowser.Error:
        return False


def serve(live: LiveSession, store_path: Path | None, settings: Settings, host: str,
          port: int, open_page: bool, allow_network: bool = False) -> None:
    """Run until Ctrl-C: the live session, the recording and the web page."""
    server = Server(live, store_path, settings, host, port, allow_network).start()
    live.start()
    print(f"Beltline dashboard: {server.url}  (Ctrl-C to stop)", flush=True)
    if open_page and not open_browser(server.url):
        print(f"No browser could be opened on this machine: open {server.url} in a browser "
              "on it" + ("." if allow_network else " (the page answers only to this machine)."),
              flush=True)
    try:
        while not live.done.wait(0.5):
            pass
        log.info("the walk has ended; the page stays up for review (Ctrl-C to stop)")
        threading.Event().wait()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        live.stop()
        server.stop()
