"""The live clients behind the raw assets: a Socrata and an Open-Meteo stand-in on 127.0.0.1."""

from datetime import date, timedelta

import dagster as dg

from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions
from chicago_risk.ingest.raw_311 import raw_311
from chicago_risk.ingest.weather import weather_daily
from chicago_risk.partitions import partition_range_tags
from chicago_risk.sources.open_meteo import OpenMeteoSource
from chicago_risk.sources.socrata import SocrataSource
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.fixtures.instances import fast_test_instance
from chicago_risk_tests.fixtures.servers import RECORDED, RESOURCE, Reply, serve_rows

DAY = date(2021, 1, 1)


def archive_reply(params: dict[str, str]) -> Reply:
    first, last = date.fromisoformat(params["start_date"]), date.fromisoformat(params["end_date"])
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    daily = {
        "time": days,
        "temperature_2m_min": [-3.0] * len(days),
        "temperature_2m_max": [2.5] * len(days),
        "precipitation_sum": [1.2] * len(days),
    }
    return Reply(body={"latitude": 41.88, "longitude": -87.63, "timezone": "America/Chicago", "daily": daily})


def test_live_rows_flow_through_the_assets_and_a_malformed_row_lands_in_quarantine(server, tmp_path):
    malformed = {**RECORDED[0], "sr_number": "SR21-00000999", "latitude": "4l.88",
                 "location": {"latitude": "4l.88", "longitude": "-87.66"}}
    serve_rows(server, [*RECORDED, malformed])
    server.queue(RESOURCE, Reply(status=429, headers={"Retry-After": "0"}))  # then the rows
    server.routes["/v1/archive"] = archive_reply

    settings = Settings(data_dir=tmp_path, source="socrata")
    resources = {
        **(build_definitions(settings).resources or {}),
        "requests_source": SocrataSource(base_url=server.url, backoff_s=0.001, timeout_s=2.0),
        "weather_source": OpenMeteoSource(forecast_url=server.url, archive_url=server.url, today="2026-11-23"),
    }
    with fast_test_instance() as instance:
        result = dg.materialize(
            [raw_311, weather_daily], resources=resources, instance=instance,
            tags=partition_range_tags(DAY.isoformat(), DAY.isoformat()),
        )
    assert result.success
    warehouse = WarehouseResource(path=str(settings.warehouse_path))
    accepted = warehouse.read_table("raw_311_requests")
    quarantined = warehouse.read_table("raw_311_quarantine")
    assert accepted["sr_number"].to_list() == sorted(r["sr_number"] for r in RECORDED)
    assert quarantined.select("sr_number", "reason").rows() == [("SR21-00000999", "malformed_coordinates")]
    assert '"latitude":"4l.88"' in quarantined["record"].item()
    assert warehouse.read_table("weather_daily").select("tmin_c", "freeze_thaw").row(0) == (-3.0, True)
    assert len(server.requests_to(RESOURCE)) == 2  # the 429, then the page
    info = result.asset_materializations_for_node("raw_311")[0].metadata
    assert str(info["source"].value).startswith("City of Chicago 311 Service Requests")


def test_the_app_token_reaches_socrata_from_the_environment_and_never_as_a_value(server, tmp_path, monkeypatch):
    serve_rows(server, RECORDED)
    server.routes["/v1/archive"] = archive_reply
    monkeypatch.setenv("CHICAGO_RISK_SOCRATA_APP_TOKEN", "s3cret-token")
    settings = Settings.from_env(
        {
            "CHICAGO_RISK_DATA_DIR": str(tmp_path),
            "CHICAGO_RISK_SOURCE": "socrata",
            "CHICAGO_RISK_SOCRATA_URL": server.url,
            "CHICAGO_RISK_SOCRATA_APP_TOKEN": "s3cret-token",
            "CHICAGO_RISK_OPEN_METEO_ARCHIVE_URL": server.url,
            "CHICAGO_RISK_OPEN_METEO_HISTORICAL_FORECAST_URL": server.url,
        }
    )
    defs = build_definitions(settings)
    assert defs.resources is not None
    source = defs.resources["requests_source"]
    assert isinstance(source.app_token, dg.EnvVar) and "s3cret" not in repr(source)
    assert defs.resources["weather_source"].historical_forecast_url == server.url

    with fast_test_instance() as instance:
        result = dg.materialize([raw_311], resources=defs.resources, instance=instance,
                                tags=partition_range_tags(DAY.isoformat(), DAY.isoformat()))
    assert result.success
    assert {seen.headers.get("X-App-Token") for seen in server.requests_to(RESOURCE)} == {"s3cret-token"}
