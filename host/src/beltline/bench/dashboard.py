"""``beltline bench dashboard``: what one open live tab costs the server, at real time.

The real command runs as its own process (``beltline monitor --virtual`` on the ``mixed``
scenario: calibration, then random conditions and confounders, recorded to a temporary store)
and a real HTTP client polls it exactly as the page does: it loads the page (and the
per-launch token in it), reads the callbacks from ``/_dash-dependencies`` and POSTs the live
callback to ``/_dash-update-component`` every UPDATE_MS (200 ms) over one keep-alive connection,
carrying the ``cursor`` store the previous answer gave, with the page's Origin and token headers.

The run alternates 5-s windows with and without the polling tab. The server's CPU time comes
from ``/proc/<pid>/stat`` at each window's edges, so ``server_cpu_share`` (CPU seconds per wall
second with one tab polling) and ``server_cpu_share_no_tab`` (the virtual unit, the pipeline
and the recorder alone) are measured in the same run, over the same stretch of walking;
``page_cpu_share`` is their difference. One update's cost is what the server itself reports in
``Server-Timing`` (wall and CPU time spent on the request), its p50 and p99; the client's
round trip is given too.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tqdm import tqdm

from beltline.dashboard.guard import TOKEN_HEADER
from beltline.dashboard.view import UPDATE_MS

log = logging.getLogger(__name__)

POLL_S = UPDATE_MS / 1000  # the page's interval
WINDOW_S = 5.0
CALIBRATION_S = 40.0  # every scenario starts with 10 s standing + 30 s walking
_TICK = os.sysconf("SC_CLK_TCK")


def _pct(x: list[float], q: float) -> float:
    return sorted(x)[min(len(x) - 1, int(q * len(x)))] if x else float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _find(node: Any, cid: str) -> dict[str, Any] | None:
    """The component with id ``cid`` in a ``/_dash-layout`` tree."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if isinstance(props, dict) and props.get("id") == cid:
            return node
        for v in (props.values() if isinstance(props, dict) else []):
            got = _find(v, cid)
            if got is not None:
                return got
    elif isinstance(node, list):
        for v in node:
            got = _find(v, cid)
            if got is not None:
                return got
    return None


def _outputs(spec: str) -> list[dict[str, str]]:
    """Dash's output string ("..a.b...c.d.." or "a.b") as the renderer sends it."""
    parts = spec.strip(".").split("...") if spec.startswith("..") else [spec]
    out = []
    for p in parts:
        cid, prop = p.rsplit(".", 1)
        out.append({"id": cid, "property": prop.split("@")[0]})
    return out


class DashClient:
    """What the page's JavaScript does, over HTTP: load the page, then call callbacks with
    the page's own headers (``Origin`` of the server, the token it was served with)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        u = urlsplit(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.origin = f"http://{u.netloc}"
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self.token: str | None = None
        self.end_id: str | None = None
        self.deps: list[dict[str, Any]] = []
        self.layout: Any = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        self.conn.request("GET", path, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, r.read()

    def load(self) -> DashClient:
        status, page = self.get("/")
        if status != 200:
            raise RuntimeError(f"the page answered {status}")
        text = page.decode()
        m = re.search(r"const token = (\"[^\"]*\")", text)
        self.token = json.loads(m.group(1)) if m else None  # an older server has none
        m = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>',
                      text, re.S)
        self.end_id = json.loads(m.group(1)).get("end_id") if m else None
        self.deps = json.loads(self.get("/_dash-dependencies")[1])
        self.layout = json.loads(self.get("/_dash-layout")[1])
        return self

    def initial(self, cid: str, prop: str) -> Any:
        node = _find(self.layout, cid)
        return None if node is None else node["props"].get(prop)

    def dep(self, input_id: str) -> dict[str, Any]:
        """The (server-side) callback triggered by component ``input_id``."""
        for d in self.deps:
            if not d.get("clientside_function") and \
                    any(i["id"] == input_id for i in d["inputs"]):
                return d
        raise KeyError(input_id)

    def call(self, dep: dict[str, Any], inputs: dict[str, Any], state: dict[str, Any],
             changed: list[str], token: str | bool | None = True,
             origin: str | bool | None = True) -> tuple[int, Any, dict[str, str], float]:
        """POST one callback like the renderer; returns status, the answer (JSON, or the
        body's text when refused), response headers and the round trip in ms."""
        payload = {
            "output": dep["output"],
            "outputs": (_outputs(dep["output"]) if dep["output"].startswith("..")
                        else _outputs(dep["output"])[0]),
            "inputs": [{"id": i["id"], "property": i["property"],
                        "value": inputs.get(f"{i['id']}.{i['property']}")}
                       for i in dep["inputs"]],
            "changedPropIds": changed, "parsedChangedPropsIds": changed,
        }
        if dep.get("state"):
            payload["state"] = [{"id": s["id"], "property": s["property"],
                                 "value": state.get(f"{s['id']}.{s['property']}")}
                                for s in dep["state"]]
        headers = {"Content-Type": "application/json"}
        if origin is True:
            headers["Origin"] = self.origin
        elif isinstance(origin, str):
            headers["Origin"] = origin
        tok = self.token if token is True else token
        if isinstance(tok, str):
            headers[TOKEN_HEADER] = tok
        path = "/_dash-update-component" + (f"?endId={self.end_id}" if self.end_id else "")
        t0 = time.perf_counter()
        self.conn.request("POST", path, body=json.dumps(payload).encode(), headers=headers)
        r = self.conn.getresponse()
        body = r.read()
        rtt = (time.perf_counter() - t0) * 1000
        got: Any = body.decode(errors="replace")
        if r.status == 200:
            got = json.loads(body)
        return r.status, got, {k.lower(): v for k, v in r.getheaders()}, rtt


def _timing(header: str | None) -> dict[str, float]:
    out = {}
    for part in (header or "").split(","):
        m = re.match(r"\s*(\w+);dur=([\d.]+)", part)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def measure(minutes: float, speed: float, env: dict[str, str] | None = None,
            window_s: float = WINDOW_S) -> dict[str, object]:
    """Run the server process and the polling client; ``env`` for the server process (a
    PYTHONPATH pointing at another version of Beltline measures that one)."""
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        errlog = open(Path(d) / "server.log", "w")
        cmd = [sys.executable, "-m", "beltline.cli", "monitor", "--virtual", "--scenario",
               "mixed", "--minutes", str(minutes), "--speed", str(speed), "--seed", "3",
               "--no-browser", "--port", str(port), "--store", str(Path(d) / "b.db")]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errlog, text=True,
                                env={**os.environ, **(env or {})})
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("Beltline dashboard:"):
                raise RuntimeError(f"the server did not start: {line!r}")
            client = DashClient(line.split()[2]).load()
            return _run(proc.pid, client, (CALIBRATION_S + 60.0 * minutes) / speed, window_s,
                        minutes, speed)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            errlog.close()


def _run(pid: int, client: DashClient, total_s: float, window_s: float, minutes: float,
         speed: float) -> dict[str, object]:
    dep = client.dep("tick")
    state = {f"{s['id']}.{s['property']}": client.initial(s["id"], s["property"])
             for s in dep.get("state", [])}
    cpu = {True: 0.0, False: 0.0}
    wall = {True: 0.0, False: 0.0}
    rtt: list[float] = []
    app_ms: list[float] = []
    sizes: list[int] = []
    n = 0
    t_start = time.perf_counter()
    bar = tqdm(total=int(total_s), desc="dashboard", unit="s", mininterval=1.0)
    polling = True
    while (now := time.perf_counter()) - t_start < total_s:
        w_end = min(now + window_s, t_start + total_s)
        c0, w0 = _cpu_s(pid), time.perf_counter()
        next_t = w0
        while (t := time.perf_counter()) < w_end:
            if not polling:
                time.sleep(min(0.2, w_end - t))
                continue
            n += 1
            status, got, headers, ms = client.call(
                dep, {"tick.n_intervals": n}, state, ["tick.n_intervals"])
            if status != 200:
                raise RuntimeError(f"the update was refused ({status}): {got}")
            rtt.append(ms)
            sizes.append(len(json.dumps(got)))
            tm = _timing(headers.get("server-timing"))
            if "app" in tm:
                app_ms.append(tm["app"])
            cur = got.get("response", {}).get("cursor", {}).get("data", None)
            if cur is not None:
                state["cursor.data"] = cur
            next_t += POLL_S  # a fixed schedule, like setInterval
            time.sleep(max(0.0, next_t - time.perf_counter()))
        cpu[polling] += _cpu_s(pid) - c0
        wall[polling] += time.perf_counter() - w0
        bar.update(min(int(time.perf_counter() - t_start), bar.total) - bar.n)
        polling = not polling
    bar.close()
    share = cpu[True] / wall[True] if wall[True] else float("nan")
    idle = cpu[False] / wall[False] if wall[False] else float("nan")
    updates = len(rtt)
    return {
        "minutes": minutes, "speed": speed, "wall_s": round(sum(wall.values()), 1),
        "client": "HTTP: the real server process, one keep-alive client posting the live "
                  f"callback every {UPDATE_MS} ms like the page",
        "updates": updates,
        "server_cpu_share": round(share, 4), "server_cpu_share_no_tab": round(idle, 4),
        "page_cpu_share": round(share - idle, 4),
        "page_cpu_ms_per_update": round((share - idle) * wall[True] * 1000 / updates, 3)
        if updates else None,
        "update_ms_p50": round(statistics.median(app_ms), 3) if app_ms else None,
        "update_ms_p99": round(_pct(app_ms, 0.99), 3) if app_ms else None,
        "update_rtt_ms_p50": round(statistics.median(rtt), 2) if rtt else None,
        "update_rtt_ms_p99": round(_pct(rtt, 0.99), 2) if rtt else None,
        "bytes_per_update": round(statistics.mean(sizes)) if sizes else None,
        "server_rss_mb": round(_rss_mb(pid), 1),
        "targets": {"server_cpu_share": 0.03, "update_ms_p50": 2.0},
    }


def main(minutes: float, speed: float) -> dict[str, object]:
    r = measure(minutes, speed)
    print(f"{minutes:g} min of virtual walking (after the 40-s calibration) at {speed:g}x, "
          f"{r['updates']} updates of one polling tab, alternating {WINDOW_S:.0f}-s windows "
          "with and without it")
    print(f"server CPU: {100 * float(r['server_cpu_share']):.2f} % of a core with the tab "  # type: ignore[arg-type]
          f"(target 3 %), {100 * float(r['server_cpu_share_no_tab']):.2f} % without: the "  # type: ignore[arg-type]
          f"page costs {100 * float(r['page_cpu_share']):.2f} %")  # type: ignore[arg-type]
    print(f"one update in the server: p50 {r['update_ms_p50']} ms, p99 {r['update_ms_p99']} ms "
          f"(target 2 ms); round trip p50 {r['update_rtt_ms_p50']} ms; "
          f"{r['bytes_per_update']} bytes per answer")
    print(json.dumps(r))
    return r
