"""The dashboard's web server: a live session served as a local web page."""

from __future__ import annotations

import ipaddress
import logging
import threading
import webbrowser
from pathlib import Path

from werkzeug.serving import make_server

from beltline.dashboard.app import build_app
from beltline.errors import UsageError
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession

log = logging.getLogger(__name__)


class Server:
    """The dashboard's web server in a thread of its own (``url``, ``stop()``)."""

    def __init__(self, live: LiveSession | None, store_path: Path | None, settings: Settings,
                 host: str = "127.0.0.1", port: int = 8050) -> None:
        app = build_app(live, store_path, settings)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
        self.http = make_server(host, port, app.server, threaded=True)
        self.url = f"http://{host}:{self.http.server_port}/"
        self.thread = threading.Thread(target=self.http.serve_forever, name="beltline-web",
                                       daemon=True)

    def start(self) -> Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.thread.join(5)


def check_host(host: str, allow_network: bool) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not allow_network:
        raise UsageError(f"--host {host} would let other machines on the network see your "
                            "health data; add --allow-network if that is what you want")


def serve(live: LiveSession, store_path: Path | None, settings: Settings, host: str,
          port: int, open_browser: bool) -> None:
    """Run until Ctrl-C: the live session, the recording and the web page."""
    server = Server(live, store_path, settings, host, port).start()
    live.start()
    print(f"Beltline dashboard: {server.url}  (Ctrl-C to stop)", flush=True)
    if open_browser:
        webbrowser.open(server.url)
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
