"""Load test of the read API: the risk layer of every cell at concurrency 8 on 127.0.0.1.

    .venv/bin/python bench/api_load.py [--published data/published] [--seconds 8] [--concurrency 8]

Starts the API under uvicorn in a separate process (logging as in production), with one extra
route, `/bench/ceiling`, that sends the very bytes of the full risk layer from memory: the ceiling
an HTTP server on this machine reaches for that payload. Then, from this process, 8 concurrent
keep-alive clients request, for `--seconds` each: the ceiling and the layer, raw and gzipped,
and the layer's 304 path (If-None-Match), taking turns in one-second rounds so that other load on
the machine weighs on each alike. Prints requests per second, p50 and p99 latency, bytes
raw and gzipped, and the layer's throughput as a share of the ceiling's (target >= 0.8, p99 <
250 ms).

Without `--published`, it publishes a synthetic day of the whole city at H3 resolution 9 (5,630
cells, five drivers each) into a temporary store, so it runs on a fresh clone.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np
from fastapi import Request, Response  # module level: the ceiling route's annotations resolve here

LAYER = "/api/layers/risk"
CEILING = "/bench/ceiling"


def synthetic_store(folder: Path) -> str:
    """One published day of risk_predictions for the whole city, drivers like the model's."""
    import polars as pl

    from chicago_risk.grid import city_cells
    from chicago_risk.models.drivers import feature_labels
    from chicago_risk.models.predict import PREDICTIONS_SCHEMA, risk_band
    from chicago_risk.config import MODEL_SETTINGS
    from chicago_risk.publish.store import PublishedStore

    cells = city_cells(9)
    rng = np.random.default_rng(0)
    names = list(feature_labels())
    drivers = [
        [
            {"feature": names[j], "value": float(rng.integers(0, 30)), "contribution": float(rng.normal(0, 0.4)),
             "label": feature_labels()[names[j]]}
            for j in rng.choice(len(names), 5, replace=False)
        ]
        for _ in cells
    ]
    p = rng.beta(1.2, 8, len(cells))
    frame = pl.DataFrame(
        {
            "h3_id": cells, "day": [date(2024, 5, 13)] * len(cells), "p_event_7d": p, "risk_band": "low",
            "expected_events": p * 1.2, "confidence": rng.uniform(0.5, 0.95, len(cells)), "drivers": drivers,
            "model_id": "lightgbm-bench", "model_cutoff": [date(2024, 5, 13)] * len(cells),
        },
        schema=PREDICTIONS_SCHEMA,
    ).with_columns(risk_band=risk_band(pl.col("p_event_7d"), MODEL_SETTINGS.bands))
    url = str(folder / "published")
    PublishedStore(url).publish("risk_predictions", [("2024-05-13", frame)], 9, "bench", facets=("model_id",))
    return url


def serve(published: str, port: int) -> None:
    """The API, plus the ceiling route serving the full layer's bytes from memory."""
    import uvicorn
    from fastapi.testclient import TestClient

    from api.app import create_app
    from chicago_risk.config.serving import ServingSettings

    app = create_app(ServingSettings(published_url=published), static_dir=None)
    with TestClient(app) as client:  # the API's own bytes, as it sends them
        raw = client.get(LAYER, headers={"Accept-Encoding": "identity"}).content
        with client.stream("GET", LAYER, headers={"Accept-Encoding": "gzip"}) as response:
            gzipped = b"".join(response.iter_raw())

    @app.get(CEILING, include_in_schema=False)
    async def ceiling(request: Request) -> Response:
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(gzipped, media_type="application/geo+json", headers={"Content-Encoding": "gzip"})
        return Response(raw, media_type="application/geo+json")

    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_config=None)


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
    """Scenarios take turns in short rounds, so a change of load on the machine (other jobs)
    weighs on each of them alike."""
    runs: dict[str, list[dict]] = {name: [] for name in scenarios}
    for _ in range(rounds):
        for name, (url, headers) in scenarios.items():
            runs[name].append(asyncio.run(_load(url, headers, seconds / rounds, concurrency)))
    return {name: _summary(r) for name, r in runs.items()}


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
            if httpx.get(base + CEILING, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise SystemExit("the API server did not come up within 120 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--published", help="a published store (default: a synthetic city day in a temporary folder)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=8)
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
            etag = httpx.get(base + LAYER).headers["etag"]
            scenarios = {
                "ceiling raw": (CEILING, {"Accept-Encoding": "identity"}),
                "layer raw": (LAYER, {"Accept-Encoding": "identity"}),
                "ceiling gzip": (CEILING, {"Accept-Encoding": "gzip"}),
                "layer gzip": (LAYER, {"Accept-Encoding": "gzip"}),
                "layer 304": (LAYER, {"Accept-Encoding": "gzip", "If-None-Match": etag}),
            }
            results = measure(
                {name: (base + path, headers) for name, (path, headers) in scenarios.items()},
                args.seconds, args.concurrency, rounds=max(1, round(args.seconds)),
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"risk layer of every cell, concurrency {args.concurrency}, {args.seconds:.0f} s per scenario, 127.0.0.1")
    print(f"{'scenario':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'bytes':>11}  statuses")
    for name, r in results.items():
        print(f"{name:<14}{r['rps']:>9.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['bytes']:>11,}  {r['statuses']}")
    for coding in ("raw", "gzip"):
        share = results[f"layer {coding}"]["rps"] / results[f"ceiling {coding}"]["rps"]
        print(f"layer {coding}: {share:.2f} of the ceiling's throughput (target >= 0.80), "
              f"p99 {results[f'layer {coding}']['p99_ms']:.0f} ms (target < 250)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
