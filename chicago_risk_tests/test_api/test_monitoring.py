"""The Grafana dashboard and the Prometheus alert rules (deploy/monitoring/) use only metrics the
API exposes, each alert has its runbook section, and the published layers' age and drift gauges
say what they claim."""

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from api.drift import PublishedDrift
from chicago_risk.features.drift import drift_table
from chicago_risk.features.registry import PER_CELL_FEATURES
from chicago_risk.grid import city_cells
from chicago_risk_tests.fixtures.api import API_KEY
from chicago_risk_tests.fixtures.small_city import LAST_DAY, RESOLUTION

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
PROMETHEUS_OWN = {"up"}  # series Prometheus itself writes for every target
METRIC = re.compile(r"\b(chicago_risk_[a-z0-9_]+|up)\b")


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load((MONITORING / "alerts.yaml").read_text())["groups"] for rule in group["rules"]
    ]


@pytest.fixture(scope="module")
def exposed(client) -> set[str]:
    """Every sample name /metrics exposes after the routes behind the panels were used."""
    body = {"zone_id": city_cells(RESOLUTION)[0], "timestamp": f"{LAST_DAY}T12:00:00"}
    assert client.post("/api/v1/predict/flood", json=body, headers={"X-API-Key": API_KEY}).status_code == 200
    for path in ("/api/layers/risk", "/api/layers/risk", "/api/layers/nope"):
        client.get(path)
    families = list(text_string_to_metric_families(client.get("/metrics").text))
    # A gauge may have no sample (the shadow scores of a week whose rule compared no pair): it is declared.
    return {s.name for f in families for s in f.samples} | {f.name for f in families if f.type == "gauge"}


def test_every_metric_the_dashboard_and_alerts_use_is_exposed(exposed):
    expressions = _dashboard_expressions() + [rule["expr"] for rule in _rules()]
    used = {name for expr in expressions for name in METRIC.findall(expr)}
    assert {
        "chicago_risk_published_partition_age_seconds", "chicago_risk_feature_psi", "chicago_risk_model_info",
        "chicago_risk_model_alias_info", "chicago_risk_model_champion_pinned", "chicago_risk_model_shadow_log_loss",
    } <= used
    assert used - exposed - PROMETHEUS_OWN == set()


def test_every_alert_has_a_severity_and_its_runbook_section():
    anchors = {
        line[3:].strip().lower()
        for line in (MONITORING / "RUNBOOK.md").read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in _rules():
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
        assert rule["annotations"]["runbook_url"] == f"RUNBOOK.md#{rule['alert'].lower()}"
        assert rule["alert"].lower() in anchors


def test_the_published_layers_age_and_drift_gauges(client, small_city):
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    ages = {s.labels["layer"]: s.value for s in families["chicago_risk_published_partition_age_seconds"].samples}
    assert {"risk_predictions", "cost_layer", "cell_day_features"} <= set(ages)
    assert "model_registry" not in ages  # not daily
    # LAST_DAY ended long before this test ran, at a Chicago midnight: an age of whole days and hours.
    assert all(age > 86_400 for age in ages.values())

    store = small_city.store()
    features = store.read_layer("cell_day_features")
    newest = features.filter(features["day"] == LAST_DAY)
    expected = dict(drift_table(features.filter(features["day"] < LAST_DAY), newest, PER_CELL_FEATURES).iter_rows())
    psi = {s.labels["feature"]: s.value for s in families["chicago_risk_feature_psi"].samples}
    assert psi.keys() == expected.keys() and all(psi[f] == pytest.approx(expected[f]) for f in psi)
    assert families["chicago_risk_feature_drift_reference_days"].samples[0].value == features["day"].n_unique() - 1
    assert families["chicago_risk_feature_drift_warn_threshold"].samples[0].value == 0.25


def test_drift_is_computed_once_per_newest_partition(client):
    drift = PublishedDrift(client.app.state.context.reader)
    first = drift.reading()
    assert first is not None and drift.reading() is first
