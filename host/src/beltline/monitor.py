"""``beltline monitor``: a live session served as a local web page."""

from __future__ import annotations

import ipaddress
import logging
import threading
import webbrowser
from pathlib import Path

from werkzeug.serving import make_server

from beltline import scenarios
from beltline.dashboard.app import build_app
from beltline.device import Faults
from beltline.errors import BeltlineError
from beltline.link import VirtualLink
from beltline.live import LiveSession
from beltline.settings import Settings
from beltline.wearer import simulate

log = logging.getLogger(__name__)


def virtual_session(scenario: str, minutes: float, seed: int, mount: str, speed: float,
                    store_path: Path | None, settings: Settings,
                    faults: Faults | None = None, over_ble: bool = False) -> LiveSession:
    """A live session on the built-in virtual wearer, through the virtual device, or with
    ``over_ble`` through a real BLE stack (Bumble) and the Bluetooth link (bleak)."""
    rec = simulate(scenarios.build(scenario, minutes, seed), 100.0, seed=seed, mount=mount)
    if over_ble:
        from beltline.virtualble import VirtualBleLink

        f = faults or Faults()
        link = VirtualBleLink(rec, speed, f.disconnect_at_s, f.disconnect_for_s)
    else:
        link = VirtualLink(rec, faults=faults, seed=seed, speed=speed)
    return LiveSession(link, store_path, settings, name=f"virtual {scenario}")


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
        raise BeltlineError(f"--host {host} would let other machines on the network see your "
                            "health data; add --allow-network if that is what you want")


def run(args: object) -> None:
    """Run until Ctrl-C: the live session, the recording and the web page."""
    a = args  # argparse.Namespace
    check_host(a.host, a.allow_network)  # type: ignore[attr-defined]
    from beltline import settings as settings_mod

    cfg = settings_mod.load(a.settings, a.set)  # type: ignore[attr-defined]
    if not a.virtual:  # type: ignore[attr-defined]
        raise BeltlineError(
            "the Bluetooth link to a real belt unit is not part of this version yet; run "
            "`beltline monitor --virtual` to use the built-in virtual wearer")
    faults = None
    if a.disconnect_at is not None:  # type: ignore[attr-defined]
        faults = Faults(disconnect_at_s=a.disconnect_at,  # type: ignore[attr-defined]
                        disconnect_for_s=a.disconnect_for)  # type: ignore[attr-defined]
    live = virtual_session(a.scenario, a.minutes, a.seed, a.mount, a.speed,  # type: ignore
                           a.store, cfg, faults, a.over_ble)  # type: ignore[attr-defined]
    server = Server(live, a.store, cfg, a.host, a.port).start()  # type: ignore[attr-defined]
    live.start()
    print(f"Beltline dashboard: {server.url}  (Ctrl-C to stop)", flush=True)
    if not a.no_browser:  # type: ignore[attr-defined]
        webbrowser.open(server.url)
    try:
        while not live.done.wait(0.5):
            pass
        log.info("the virtual walk has ended; the page stays up for review (Ctrl-C to stop)")
        threading.Event().wait()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        live.stop()
        server.stop()
