"""The asset graph as a reviewed snapshot: a change to assets, partitions or edges is a visible diff.

Regenerate after an intended change with: UPDATE_GRAPH_SNAPSHOT=1 make test
"""

import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions
from chicago_risk.schedules import nightly_ingest_schedule

SNAPSHOT = Path(__file__).with_name("graph_snapshot.json")


def graph_snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    snapshot = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        snapshot[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": type(node.partitions_def).__name__ if node.partitions_def else None,
            "backfill_policy": str(node.backfill_policy.policy_type) if node.backfill_policy else None,
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "checks": sorted(check.name for check in node.check_keys),
        }
    return snapshot


def test_asset_graph_matches_snapshot(tmp_path):
    current = graph_snapshot(build_definitions(Settings(data_dir=tmp_path)))
    if os.environ.get("UPDATE_GRAPH_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=2) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_definitions_load_for_every_source(tmp_path):
    for source in ("demo", "socrata", "files"):
        defs = build_definitions(Settings(data_dir=tmp_path, source=source))
        dg.Definitions.validate_loadable(defs)
        keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
        assert {"raw_311_requests", "raw_311_quarantine", "weather_daily"} <= keys
        assert ("demo_truth" in keys) == (source == "demo")


def test_nightly_schedule_rereads_two_weeks_as_one_run():
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 10, 2, 30, tzinfo=ZoneInfo("America/Chicago"))
    )
    request = nightly_ingest_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-02-23"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-03-09"
