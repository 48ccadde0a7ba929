"""From the command line to a served city: `chicago-risk materialize` over a short window, then
`chicago-risk serve` and the map routes; and `make demo`'s serving half (the Dagster UI and the
API) stopping on Ctrl-C with nothing left running.

The window is early in the data (June 2019 at H3 resolution 7), where the history the models
read is clipped at the data's first day, so the whole graph fits in a test.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

START, END = "2019-06-10", "2019-06-12"  # a Monday, so one weekly model serves the window
SCRIPT = Path(sys.executable).with_name("chicago-risk")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def _wait_for(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _get(url)[0] == 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer 200 within {timeout_s:.0f} s")


def _descendants(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> dict[str, str]:
    """The environment of a data directory the command line has materialized for the window."""
    data = tmp_path_factory.mktemp("city")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHICAGO_RISK_", "DAGSTER_"))},
        "CHICAGO_RISK_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "dagster_home"),
        "CHICAGO_RISK_H3_RESOLUTION": "7",
        "CHICAGO_RISK_API_PORT": str(_free_port()),
        "CHICAGO_RISK_DAGSTER_UI_PORT": str(_free_port()),
    }
    done = subprocess.run(
        [SCRIPT, "materialize", "--start", START, "--end", END], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "step 2/2: backtest and model card" in done.stdout
    return env


def test_materialize_then_serve_answers_every_map_route(city):
    api = f"http://127.0.0.1:{city['CHICAGO_RISK_API_PORT']}"
    server = subprocess.Popen([SCRIPT, "serve"], env=city, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(f"{api}/ready", 60)
        meta = json.loads(_get(f"{api}/api/meta")[1])
        assert (meta["date_min"], meta["date_max"]) == (START, END)
        assert meta["grid"]["h3_resolution"] == 7 and meta["risk_model_version"].startswith("lightgbm-")
        status, body = _get(f"{api}/api/layers/risk?date={END}")
        risk = json.loads(body)
        assert status == 200 and len(risk["features"]) == 160  # every cell of the resolution-7 city
        cell = risk["features"][0]["properties"]["h3_id"]
        for route in (
            f"/api/layers/cost?date={END}",
            f"/api/layers/recommendations?date={END}",
            f"/api/layers/events?start_date={START}&end_date={END}",
            f"/api/cell/{cell}/history?days=7",
            f"/api/cell/{cell}?date={END}",
            "/metrics",
            "/",
        ):
            assert _get(api + route)[0] == 200, route
        assert _get(f"{api}/api/layers/risk?date=2019-06-09")[0] == 404  # not published
        card = Path(city["CHICAGO_RISK_DATA_DIR"]) / "reports" / "model_card.md"
        assert "## Backtest" in card.read_text()
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0


def test_the_demo_serves_the_ui_and_the_map_and_ctrl_c_stops_every_process(city):
    demo = subprocess.Popen(  # what `make demo` ends with, on the folder the command line built
        [SCRIPT, "ui"],
        env=city, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{city['CHICAGO_RISK_API_PORT']}/ready", 60)
        _wait_for(f"http://127.0.0.1:{city['CHICAGO_RISK_DAGSTER_UI_PORT']}/server_info", 120)
        server = Path(city["DAGSTER_HOME"]) / "postgres" / "postmaster.pid"
        assert server.exists()  # the instance's embedded PostgreSQL, held while serving
        started = _descendants(demo.pid)
        assert len(started) >= 3  # the API, dagster dev and what it runs (webserver, daemon, code server)
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C in the terminal
        assert demo.wait(timeout=60) == 0
        time.sleep(1)
        assert {pid for pid in started if Path(f"/proc/{pid}").exists()} == set()
        assert not server.exists()  # and the server stopped cleanly
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
