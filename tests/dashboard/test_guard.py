"""Only this machine's own page drives the dashboard: raw HTTP requests against a running
server, as a rebinding page, a foreign site or a script without the page's token would send
them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from beltline.bench.dashboard import DashClient
from beltline.dashboard.guard import TOKEN_HEADER, Guard, host_name, is_loopback
from beltline.dashboard.server import Server
from beltline.pipeline.episodes import Episode
from beltline.pipeline.gait import Step
from beltline.pipeline.output import Output
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession
from beltline.sessions.store import Recorder, Store
from beltline.sim import scenarios
from beltline.sim.link import VirtualLink
from beltline.sim.wearer import simulate


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, LiveSession]]:
    store = tmp_path_factory.mktemp("guard") / "b.db"
    with Store(store) as st:
        sid = st.new_session("virtual", name="secret walk")
        out = Output()
        t = np.arange(300) * 0.01
        out.add_samples(t, np.zeros(300), np.zeros(300), np.array(["walking"] * 300, "<U8"))
        out.steps.append((0.5, "left", Step(50, "left", 100, 4.0, 0.0, 0.0, 0.0, 8.0, 105.0)))
        out.episodes.append(Episode("hip_drop", "right", 1.0, 2.0, 9.0, 8.0, "walking", 4))
        rec = Recorder(st, sid)
        rec.write(out.rows())
        rec.flush()
        st.close_session(sid, None)
    # a live session that is never started: commands it receives stay queued, visible here
    rec = simulate(scenarios.CALIBRATION, 100.0, seed=1)
    live = LiveSession(VirtualLink(rec, speed=1.0), store, Settings())
    srv = Server(live, store, Settings(), port=0).start()
    yield srv, live
    srv.stop()


@pytest.fixture
def client(server: tuple[Server, LiveSession]) -> DashClient:
    return DashClient(server[0].url).load()


def test_host_names() -> None:
    assert host_name("127.0.0.1:8050") == "127.0.0.1"
    assert host_name("[::1]:8050") == "::1"
    assert host_name("LOCALHOST:8050") == "localhost"
    for ok in ("127.0.0.1", "127.3.4.5", "::1", "localhost", "app.localhost"):
        assert is_loopback(ok), ok
    for bad in ("evil.example", "127.0.0.1.evil.example", "192.168.1.4", "", "0.0.0.0"):
        assert not is_loopback(bad), bad
    g = Guard(lambda e, s: [], "t", "192.168.1.4", allow_network=True)
    assert g.host_ok("192.168.1.4:8050")
    assert g.host_ok("10.0.0.7:8050")  # an IP literal cannot be rebound
    assert not g.host_ok("evil.example:8050")


def test_a_foreign_host_gets_nothing(client: DashClient, server: tuple[Server, LiveSession]
                                     ) -> None:
    srv, _ = server
    port = client.port
    for path in ("/", "/_dash-layout", "/_dash-dependencies", "/review"):
        status, body = client.get(path, {"Host": f"rebind.example:{port}"})
        assert status == 403, path
        assert srv.token.encode() not in body
        assert b"secret walk" not in body
        assert b"Forbidden" in body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, body = client.get("/", {"Host": host})
        assert status == 200
    # the page carries this launch's token, and says no other site may frame it
    assert client.token == srv.token
    client.conn.request("GET", "/")
    r = client.conn.getresponse()
    r.read()
    assert r.getheader("X-Frame-Options") == "DENY"


def _sessions(client: DashClient, **kw: object) -> tuple[int, object]:
    dep = client.dep("url")  # the session list: it reads the store
    for d in client.deps:
        if d["output"].startswith("..pick.options"):
            dep = d
    status, got, _, _ = client.call(dep, {"url.pathname": "/review", "url.search": ""}, {},
                                    ["url.pathname"], **kw)  # type: ignore[arg-type]
    return status, got


def test_data_need_the_same_origin_and_the_token(client: DashClient) -> None:
    status, got = _sessions(client)
    assert status == 200
    assert "secret walk" not in str(got)  # the list names sessions by id, time and source
    assert "#1 " in str(got)
    refused = [_sessions(client, origin="http://evil.example"),
               _sessions(client, origin="http://127.0.0.1.evil.example"),
               _sessions(client, origin=None),  # neither Origin nor Referer
               _sessions(client, token=None),
               _sessions(client, token="guessed")]
    for status, got in refused:
        assert status == 403
        assert "#1 " not in str(got)


def test_the_referer_stands_for_a_missing_origin(client: DashClient) -> None:
    dep = next(d for d in client.deps if d["output"].startswith("..pick.options"))
    client.conn.request("POST", "/_dash-update-component", body=b"{}", headers={
        "Content-Type": "application/json", "Referer": client.origin + "/review"})
    r = client.conn.getresponse()
    assert r.status == 403  # right origin, but no token
    r.read()
    assert dep  # (the callback exists; the refusal came before it)


def test_state_changes_need_the_token(client: DashClient, server: tuple[Server, LiveSession]
                                      ) -> None:
    _, live = server
    live._commands.clear()
    dep = client.dep("btn-cal")
    status, _, _, _ = client.call(dep, {"btn-cal.n_clicks": 1}, {}, ["btn-cal.n_clicks"],
                                  token=None)
    assert status == 403
    status, _, _, _ = client.call(dep, {"btn-cal.n_clicks": 1}, {}, ["btn-cal.n_clicks"],
                                  origin="http://evil.example")
    assert status == 403
    assert list(live._commands) == []  # nothing reached the session
    status, _, _, _ = client.call(dep, {"btn-cal.n_clicks": 1}, {}, ["btn-cal.n_clicks"])
    assert status == 200
    assert list(live._commands) == ["calibrate"]
    live._commands.clear()
    rec = client.dep("btn-rec")
    status, _, _, _ = client.call(rec, {"btn-rec.n_clicks": 1}, {}, ["btn-rec.n_clicks"],
                                  token="x" * 43)
    assert status == 403
    assert list(live._commands) == []


def test_downloads_need_the_token(client: DashClient) -> None:
    dep = client.dep("btn-review-export")
    args = ({"btn-review-export.n_clicks": 1}, {"pick.value": 1},
            ["btn-review-export.n_clicks"])
    status, got, _, _ = client.call(dep, *args, token=None)
    assert status == 403
    assert "base64" not in str(got)
    status, got, headers, _ = client.call(dep, *args)
    assert status == 200
    assert got["response"]["review-download"]["data"]["filename"] == "beltline-session-1.zip"
    assert headers.get("cache-control") == "no-store"


def test_the_review_page_does_not_poll(client: DashClient) -> None:
    dep = next(d for d in client.deps if d["output"].startswith("..live-page.style"))
    for path, off in (("/review", True), ("/", False)):
        status, got, _, _ = client.call(dep, {"url.pathname": path}, {}, ["url.pathname"])
        assert status == 200
        assert got["response"]["tick"]["disabled"] is off, path


def test_the_token_header_name_is_what_the_page_sends(server: tuple[Server, LiveSession]
                                                      ) -> None:
    srv, _ = server
    c = DashClient(srv.url).load()
    _status, body = c.get("/")
    assert f'"{TOKEN_HEADER}"'.encode() in body


def test_the_store_path_is_not_served(client: DashClient) -> None:
    status, body = client.get("/b.db")
    assert b"SQLite" not in body
    assert status in (200, 404)  # Dash answers unknown paths with its page


def test_exports_are_private(tmp_path: Path, server: tuple[Server, LiveSession]) -> None:
    from beltline.sessions import exchange

    srv, live = server
    with Store(live.store_path) as st:
        files = exchange.export(st, 1, tmp_path / "new" / "exp")
    assert ((tmp_path / "new").stat().st_mode & 0o777) == 0o700
    assert ((tmp_path / "new" / "exp").stat().st_mode & 0o777) == 0o700
    assert all((f.stat().st_mode & 0o777) == 0o600 for f in files)
    assert srv.token  # (one server for the module)


def test_a_huge_body_is_refused_unread(server: tuple[Server, LiveSession],
                                       client: DashClient) -> None:
    """A request announcing 2 MB (the page sends a few kB) is answered 413 from its headers,
    and the page goes on."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(server[0].url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: " + u.netloc.encode()
                  + b"\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
                  + b"{" * 65536)
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head[:80]
    status, got = _sessions(client)
    assert status == 200
    assert "#1 " in str(got)
