"""Load test of the read API's map layers, and the map page's draw times in headless Chromium.

    .venv/bin/python bench/api_load.py [--published data/published] [--seconds 8] [--concurrency 8]

1. Bytes per layer-day, raw and gzipped: the risk and cost layers as GeoJSON (`/api/layers/X`),
   as columnar JSON and as Arrow IPC (`/api/layers/X/values`), and the grid's shapes (`/api/grid`,
   fetched once by a client). Target: the risk values route at most 60 KB gzipped.
2. Throughput and latency (p50, p99) at concurrency 8 on 127.0.0.1, gzipped as a browser asks,
   for each format of the risk layer, each against its in-memory ceiling in the same run: the API
   started under uvicorn in a separate process with one extra route, `/bench/ceiling/<format>`,
   that sends that format's very bytes from memory. Scenarios take turns in one-second rounds, so
   other load on the machine weighs on each alike.
3. The map page (`/`) in headless Chromium (Debian's, as the suite drives it): time from
   navigation to the risk layer drawn (`first-draw`), and per date switch (`date-switch`), as the
   page itself measures them (`performance.measure`).

Without `--published`, it publishes three synthetic days of the whole city's risk and cost at H3
resolution 9 (5,630 cells, five drivers each) into a temporary store, so it runs on a fresh clone.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import numpy as np
from fastapi import Request, Response  # module level: the ceiling route's annotations resolve here

ARROW = "application/vnd.apache.arrow.stream"
FIRST_DAY = date(2024, 5, 13)
DAYS = 3
# format -> (path of the risk layer in that format, request headers)
FORMATS = {
    "geojson": ("/api/layers/risk", {}),
    "values json": ("/api/layers/risk/values", {}),
    "values arrow": ("/api/layers/risk/values", {"Accept": ARROW}),
}
CEILING = "/bench/ceiling/{name}"


def synthetic_store(folder: Path) -> str:
    """DAYS published days of risk_predictions and cost_layer for the whole city."""
    import polars as pl

    from chicago_risk.config import MODEL_SETTINGS
    from chicago_risk.grid import city_cells
    from chicago_risk.models.drivers import feature_labels
    from chicago_risk.models.predict import PREDICTIONS_SCHEMA, risk_band
    from chicago_risk.publish.store import PublishedStore

    cells = city_cells(9)
    names = list(feature_labels())
    store = PublishedStore(str(folder / "published"))
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        rng = np.random.default_rng(offset)
        drivers = [
            [
                {"feature": names[j], "value": float(rng.integers(0, 30)), "contribution": float(rng.normal(0, 0.4)),
                 "label": feature_labels()[names[j]]}
                for j in rng.choice(len(names), 5, replace=False)
            ]
            for _ in cells
        ]
        p = rng.beta(1.2, 8, len(cells))
        risk = pl.DataFrame(
            {
                "h3_id": cells, "day": [day] * len(cells), "p_event_7d": p, "risk_band": "low",
                "expected_events": p * 1.2, "confidence": rng.uniform(0.5, 0.95, len(cells)), "drivers": drivers,
                "model_id": "lightgbm-bench", "model_cutoff": [FIRST_DAY] * len(cells),
            },
            schema=PREDICTIONS_SCHEMA,
        ).with_columns(risk_band=risk_band(pl.col("p_event_7d"), MODEL_SETTINGS.bands))
        water, energy, repair = (p * rng.gamma(2, scale, len(cells)) for scale in (300, 90, 1200))
        total = water + energy + repair
        cost = pl.DataFrame({
            "h3_id": cells, "day": [day] * len(cells), "expected_cost_usd_7d": total,
            "p90_cost": np.where(p > 0.1, total * 2.5, 0.0), "cost_water_usd_mean": water,
            "cost_energy_usd_mean": energy, "cost_repair_usd_mean": repair, "leak_volume_m3_mean": water / 1.6,
            "cost_quantile": pl.Series(total).rank() / len(cells),
        })
        store.publish("risk_predictions", [(str(day), risk)], 9, "bench", facets=("model_id",))
        store.publish("cost_layer", [(str(day), cost)], 9, "bench")
    return store.url


def serve(published: str, port: int) -> None:
    """The API, plus a ceiling route per format serving the layer's bytes from memory."""
    import uvicorn
    from fastapi.testclient import TestClient

    from api.app import create_app
    from chicago_risk.config.serving import ServingSettings

    app = create_app(ServingSettings(published_url=published), static_dir=None)
    bodies = {}
    with TestClient(app) as client:  # the API's own bytes, as it sends them
        for name, (path, headers) in FORMATS.items():
            with client.stream("GET", path, headers={**headers, "Accept-Encoding": "gzip"}) as response:
                bodies[name] = (b"".join(response.iter_raw()), response.headers["content-type"])

    @app.get(CEILING.format(name="{name}"), include_in_schema=False)
    async def ceiling(name: str, request: Request) -> Response:
        body, media_type = bodies[name]
        return Response(body, media_type=media_type, headers={"Content-Encoding": "gzip"})

    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_config=None)


def layer_sizes(base: str) -> list[tuple[str, str, int, int]]:
    """(layer, format, raw bytes, gzipped bytes) of the newest day, as the API sends them."""
    rows = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for layer in ("risk", "cost"):
            for name, (path, headers) in FORMATS.items():
                path = path.replace("risk", layer)
                raw = client.get(path, headers={**headers, "Accept-Encoding": "identity"}).content
                with client.stream("GET", path, headers={**headers, "Accept-Encoding": "gzip"}) as response:
                    zipped = b"".join(response.iter_raw())
                assert gzip.decompress(zipped) == raw, (layer, name)
                rows.append((layer, name, len(raw), len(zipped)))
        raw = client.get("/api/grid", headers={"Accept-Encoding": "identity"}).content
        with client.stream("GET", "/api/grid", headers={"Accept-Encoding": "gzip"}) as response:
            rows.append(("grid (once)", "geojson", len(raw), len(b"".join(response.iter_raw()))))
    return rows


async def _load(url: str, headers: dict, seconds: float, concurrency: int) -> dict:
    """`concurrency` keep-alive clients requesting `url` for `seconds` (after a short warm-up)."""
    latencies: list[float] = []
    sizes: list[int] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(stop_at: float, record: bool) -> None:
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                async with client.stream("GET", url, headers=headers) as response:
                    size = sum([len(chunk) async for chunk in response.aiter_raw()])
                if record:
                    latencies.append(time.perf_counter() - began)
                    sizes.append(size)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await asyncio.gather(*(worker(time.perf_counter() + 0.2, False) for _ in range(concurrency)))
        began = time.perf_counter()
        await asyncio.gather(*(worker(began + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {"latencies": latencies, "sizes": sizes, "statuses": statuses, "seconds": elapsed}


def _summary(runs: list[dict]) -> dict:
    latencies = [x for r in runs for x in r["latencies"]]
    statuses: dict[int, int] = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {
        "rps": len(latencies) / sum(r["seconds"] for r in runs),
        "p50_ms": float(np.percentile(latencies, 50)) * 1000,
        "p99_ms": float(np.percentile(latencies, 99)) * 1000,
        "bytes": int(np.median([x for r in runs for x in r["sizes"]])),
        "statuses": statuses,
    }


def measure(scenarios: dict[str, tuple[str, dict]], seconds: float, concurrency: int, rounds: int) -> dict:
    runs: dict[str, list[dict]] = {name: [] for name in scenarios}
    for _ in range(rounds):
        for name, (url, headers) in scenarios.items():
            runs[name].append(asyncio.run(_load(url, headers, seconds / rounds, concurrency)))
    return {name: _summary(r) for name, r in runs.items()}


def browser_timings(published: str, switches: int) -> tuple[float, list[float]]:
    """The page's own measures: navigation to the risk layer drawn, and each date switch (ms)."""
    from selenium.webdriver.support.ui import WebDriverWait

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the suite's Chromium and server helpers
    from chicago_risk_tests.fixtures.browser import chromium, serve_api

    def measures(driver, name: str) -> list[float]:
        return driver.execute_script("return performance.getEntriesByName(arguments[0]).map(m => m.duration)", name)

    with tempfile.TemporaryDirectory() as profile, serve_api(published) as base, chromium(Path(profile)) as driver:
        driver.get(f"{base}/#layers=risk")
        WebDriverWait(driver, 60, 0.02).until(lambda d: measures(d, "first-draw"))
        first = measures(driver, "first-draw")[0]
        days = [str(FIRST_DAY + timedelta(days=d)) for d in range(DAYS)]
        for i in range(switches):
            driver.execute_script("""
                const input = document.getElementById('date');
                input.value = arguments[0];
                input.dispatchEvent(new Event('change', {bubbles: true}));
            """, days[i % DAYS])
            WebDriverWait(driver, 60, 0.02).until(lambda d: len(measures(d, "date-switch")) == i + 1)  # noqa: B023 (waited on here)
        return first, measures(driver, "date-switch")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the API server exited; run with --serve to see why")
        try:
            if httpx.get(base + CEILING.format(name="geojson"), timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise SystemExit("the API server did not come up within 120 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--published", help="a published store (default: synthetic city days in a temporary folder)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--switches", type=int, default=9, help="date switches timed in Chromium")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.published, args.serve)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        published = args.published or synthetic_store(Path(folder))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, __file__, "--published", published, "--serve", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_up(base, server)
            sizes = layer_sizes(base)
            scenarios = {}
            for name, (path, headers) in FORMATS.items():
                scenarios[f"ceiling {name}"] = (base + CEILING.format(name=name), {"Accept-Encoding": "gzip"})
                scenarios[f"layer {name}"] = (base + path, {**headers, "Accept-Encoding": "gzip"})
            results = measure(scenarios, args.seconds, args.concurrency, rounds=max(1, round(args.seconds)))
        finally:
            server.terminate()
            server.wait(timeout=30)
        first_draw, switches = browser_timings(published, args.switches)

    print("bytes per layer-day (newest day), as the API sends them")
    print(f"{'layer':<13}{'format':<14}{'raw':>12}{'gzipped':>11}")
    for layer, name, raw, zipped in sizes:
        print(f"{layer:<13}{name:<14}{raw:>12,}{zipped:>11,}")
    risk_values = next(z for layer, name, _, z in sizes if (layer, name) == ("risk", "values json"))
    print(f"risk values route: {risk_values / 1000:.1f} KB gzipped (target <= 60 KB)\n")
    print(f"risk layer, concurrency {args.concurrency}, gzip, {args.seconds:.0f} s per scenario, 127.0.0.1")
    print(f"{'scenario':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'bytes':>11}  statuses")
    for name, r in results.items():
        print(f"{name:<22}{r['rps']:>9.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['bytes']:>11,}  {r['statuses']}")
    for name in FORMATS:
        share = results[f"layer {name}"]["rps"] / results[f"ceiling {name}"]["rps"]
        print(f"{name}: {share:.2f} of its ceiling's throughput, p99 {results[f'layer {name}']['p99_ms']:.0f} ms")
    print(
        f"\nmap page in headless Chromium: first draw {first_draw:.0f} ms; "
        f"date switch median {statistics.median(switches):.0f} ms, max {max(switches):.0f} ms"
        f" ({len(switches)} switches)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
