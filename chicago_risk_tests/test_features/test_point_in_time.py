"""Point-in-time correctness, Feast style: a deliberately simple oracle recomputes every feature
and label from the raw rows in the warehouse, and must agree with the materialized tables."""

import math
import random
from collections import defaultdict
from datetime import date, datetime, timedelta

import dagster as dg
import h3
import polars as pl
import pytest

from chicago_risk.config import DATA_START, Settings
from chicago_risk.definitions import build_definitions
from chicago_risk.features.assets import cell_day_features, cell_day_labels
from chicago_risk.features.registry import FEATURE_NAMES, HISTORY_DAYS, SHRINKAGE_PRIOR_DAYS
from chicago_risk.grid import city_cells
from chicago_risk.ingest.raw_311 import raw_311
from chicago_risk.ingest.weather import weather_daily
from chicago_risk.partitions import partition_range_tags
from chicago_risk.sources.demo_city import DemoCitySource
from chicago_risk.sources.soda import soda_frame
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.fixtures.instances import fast_test_instance

pytestmark = pytest.mark.slow

RESOLUTION = 8  # 809 cells keep three years of the city quick
T0 = DATA_START + timedelta(days=800)
EARLY = (DATA_START, DATA_START + timedelta(days=9))
LATE = (T0 - timedelta(days=10), T0 + timedelta(days=5))
CELLS = city_cells(RESOLUTION)
QUIET_CELL = CELLS[len(CELLS) // 2]


def soda_row(sr_number: str, created: datetime, cell: str, parent: str | None = None) -> dict:
    lat, lon = h3.cell_to_latlng(cell)
    row = {
        "sr_number": sr_number, "sr_type": "No Water Complaint", "sr_short_code": "WBJ",
        "created_date": created.strftime("%Y-%m-%dT%H:%M:%S.000"), "status": "Open",
        "latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}", "duplicate": parent is not None,
    }
    return {**row, "parent_sr_number": parent} if parent else row


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)


# Edge cases placed in QUIET_CELL: an incident exactly on T0 and another on T0+1; a duplicate on
# T0-3 whose first report is 800 days older (outside every window, even the loaded history); a
# duplicate on T0-2 whose parent is 40 days older (outside the 30-day window, inside 365).
CRAFTED = [
    soda_row("SRX-ANCIENT", at(T0 - timedelta(days=800)), QUIET_CELL),
    soda_row("SRX-ANCIENT-DUP", at(T0 - timedelta(days=3)), QUIET_CELL, parent="SRX-ANCIENT"),
    soda_row("SRX-OLD", at(T0 - timedelta(days=42)), QUIET_CELL),
    soda_row("SRX-OLD-DUP", at(T0 - timedelta(days=2)), QUIET_CELL, parent="SRX-OLD"),
    soda_row("SRX-ON-T", at(T0, 23), QUIET_CELL),
    soda_row("SRX-ON-T-DUP", at(T0 + timedelta(days=1), 1), QUIET_CELL, parent="SRX-ON-T"),
    soda_row("SRX-AFTER-T", at(T0 + timedelta(days=1), 0), QUIET_CELL),
]


class CityWithCraftedRows(DemoCitySource):
    extra: list[dict] = []  # noqa: RUF012 (a pydantic field: each instance gets its own copy)

    def fetch_requests(self, start, end, sr_types):
        crafted = soda_frame(self.extra).filter(
            pl.col("created_date").str.slice(0, 10).is_between(pl.lit(start.isoformat()), pl.lit(end.isoformat()))
        )
        return pl.concat([super().fetch_requests(start, end, sr_types), crafted])


ASSETS = {
    "raw_311_requests": raw_311,
    "weather_daily": weather_daily,
    "cell_day_features": cell_day_features,
    "cell_day_labels": cell_day_labels,
}


def materialize(defs, resources, instance, names, start, end):
    result = dg.materialize(
        list(dict.fromkeys(ASSETS.values())),
        selection=dg.AssetSelection.assets(*names).required_multi_asset_neighbors(),
        resources=resources, instance=instance,
        tags=partition_range_tags(start.isoformat(), end.isoformat()),
    )
    assert result.success


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("pit"), h3_resolution=RESOLUTION)
    defs = build_definitions(settings)
    resources = {
        **(defs.resources or {}),
        "requests_source": CityWithCraftedRows(h3_resolution=RESOLUTION, extra=CRAFTED),
    }
    raw = ["raw_311_requests", "weather_daily"]
    with fast_test_instance() as instance:
        materialize(defs, resources, instance, raw, DATA_START, LATE[1] + timedelta(days=7))
        for start, end in (EARLY, LATE):
            for table in ("cell_day_features", "cell_day_labels"):  # two partitions definitions
                materialize(defs, resources, instance, [table], start, end)
        yield WarehouseResource(path=str(settings.warehouse_path)), defs, resources, instance


class Oracle:
    """Plain loops over raw rows, written from the feature definitions' words, nothing shared."""

    def __init__(self, raw: pl.DataFrame, weather: pl.DataFrame):
        first_report: dict[str, dict] = {}
        for row in raw.sort("created_at", "sr_number").iter_rows(named=True):
            first_report.setdefault(row["incident_key"], row)
        self.incidents = defaultdict(list)
        for row in first_report.values():
            self.incidents[row["h3_id"]].append((row["day"], row["type_group"]))
        self.weather = {row["day"]: row for row in weather.iter_rows(named=True)}
        self.city = set(CELLS)

    def days(self, cell, t, window):
        return [d for d, _ in self.incidents[cell] if 0 <= (t - d).days < window]

    def count(self, cells, t, window):
        return sum(len(self.days(c, t, window)) for c in cells)

    def features(self, cell, t):
        ring1 = [c for c in h3.grid_ring(cell, 1) if c in self.city]
        disk2 = [c for c in h3.grid_disk(cell, 2) if c in self.city and c != cell]
        past = [d for d, _ in self.incidents[cell] if d <= t]
        neighbourhood_rate = self.count(disk2, t, HISTORY_DAYS) / (max(len(disk2), 1) * HISTORY_DAYS)
        weather = [self.weather.get(t - timedelta(days=k)) for k in range(7)]
        assert weather[0] is not None, f"no weather on {t}"
        doy = 2 * math.pi * t.timetuple().tm_yday / 365.25
        got = {
            "cnt_7d": self.count([cell], t, 7),
            "cnt_30d": self.count([cell], t, 30),
            "cnt_365d": self.count([cell], t, 365),
            "decay_7d": sum(0.5 ** ((t - d).days / 7) for d in self.days(cell, t, 60)),
            "nbr_cnt_30d": self.count(ring1, t, 30),
            "nbr_cnt_365d": self.count(ring1, t, 365),
            "ring2_cnt_365d": self.count(disk2, t, 365),
            "days_since_last": min((t - max(past)).days, 365) if past else 365,
            "rate_7d_shrunk": 7 * (self.count([cell], t, HISTORY_DAYS) + SHRINKAGE_PRIOR_DAYS * neighbourhood_rate)
            / (HISTORY_DAYS + SHRINKAGE_PRIOR_DAYS),
            "tmin_c": weather[0]["tmin_c"],
            "tmax_c": weather[0]["tmax_c"],
            "precip_mm": weather[0]["precip_mm"],
            "precip_3d_mm": sum(w["precip_mm"] for w in weather[:3] if w),
            "freeze_thaw_7d": sum(1 for w in weather if w and w["tmin_c"] <= 0 < w["tmax_c"]),
            "temp_drop_c": weather[0]["temp_drop_c"],
            "heavy_rain": int(weather[0]["precip_mm"] >= 25),
            "doy_sin": math.sin(doy),
            "doy_cos": math.cos(doy),
            "dow": t.weekday(),
            "fc_precip_7d_mm": weather[0]["fc_precip_7d_mm"],
            "fc_freeze_days_7d": weather[0]["fc_freeze_days_7d"],
        }
        for group in {"main", "street", "basement", "sewer", "hydrant", "quality"}:
            got[f"cnt_30d_{group}"] = sum(
                1 for d, g in self.incidents[cell] if g == group and 0 <= (t - d).days < 30
            )
        return got

    def labels(self, cell, t):
        n = sum(1 for d, _ in self.incidents[cell] if 1 <= (d - t).days <= 7)
        return {"y_event_7d": int(n > 0), "n_events_7d": n}


def assert_same(expected: dict, actual: dict, where: str):
    for name, value in expected.items():
        if isinstance(value, float):
            assert actual[name] == pytest.approx(value, rel=1e-12, abs=1e-12), f"{name} at {where}"
        else:
            assert actual[name] == value, f"{name} at {where}"


def sample_pairs(seed: int) -> list[tuple[str, date]]:
    rng = random.Random(seed)
    days = [EARLY[0] + timedelta(days=i) for i in range(10)] + [LATE[0] + timedelta(days=i) for i in range(16)]
    pairs = [(rng.choice(CELLS), rng.choice(days)) for _ in range(150)]
    edge_days = (EARLY[0], T0 - timedelta(days=2), T0 - timedelta(days=1), T0, T0 + timedelta(days=1))
    return pairs + [(QUIET_CELL, d) for d in edge_days]


def test_every_feature_and_label_agrees_with_the_oracle(warehouse):
    store, *_ = warehouse
    oracle = Oracle(store.read_table("raw_311_requests"), store.read_table("weather_daily"))
    features = store.read_table("cell_day_features")
    labels = store.read_table("cell_day_labels")
    assert set(FEATURE_NAMES) <= set(features.columns)
    never_reported = [c for c in CELLS if not oracle.incidents[c]]
    pairs = sample_pairs(7) + [(c, LATE[0]) for c in never_reported[:5]]
    for cell, t in pairs:
        row = features.filter((pl.col("h3_id") == cell) & (pl.col("day") == t)).row(0, named=True)
        assert_same(oracle.features(cell, t), row, f"{cell} {t}")
        label = labels.filter((pl.col("h3_id") == cell) & (pl.col("day") == t)).row(0, named=True)
        assert_same(oracle.labels(cell, t), label, f"{cell} {t}")


def test_edge_cases_mean_what_the_definitions_say(warehouse):
    store, *_ = warehouse
    features = store.read_table("cell_day_features").filter(pl.col("h3_id") == QUIET_CELL)
    on = {row["day"]: row for row in features.iter_rows(named=True)}
    # T0: the incident on T0 counts; the ancient parent's duplicate does not; the 42-day-old one
    # counts only in the year; the row on T0+1 is not seen.
    assert on[T0]["days_since_last"] == 0
    assert on[T0]["cnt_7d"] - on[T0 - timedelta(days=1)]["cnt_7d"] >= 1
    labels = store.read_table("cell_day_labels").filter(pl.col("h3_id") == QUIET_CELL)
    assert labels.filter(pl.col("day") == T0)["n_events_7d"].item() >= 1  # SRX-AFTER-T


def test_rows_dated_after_t_never_change_the_features_for_t(warehouse):
    store, defs, resources, instance = warehouse
    before = store.read_partitions("cell_day_features", LATE[0], LATE[1])
    later_rows = [
        soda_row(f"SRX-LATE-{i}", at(LATE[1] + timedelta(days=1 + i % 3)), CELLS[i]) for i in range(40)
    ] + [soda_row("SRX-LATE-DUP", at(LATE[1] + timedelta(days=2)), QUIET_CELL, parent="SRX-OLD")]
    resources = {
        **resources,
        "requests_source": CityWithCraftedRows(h3_resolution=RESOLUTION, extra=CRAFTED + later_rows),
    }
    after_t = (LATE[1] + timedelta(days=1), LATE[1] + timedelta(days=3))
    materialize(defs, resources, instance, ["raw_311_requests"], *after_t)
    materialize(defs, resources, instance, ["cell_day_features"], *LATE)
    assert store.read_partitions("cell_day_features", LATE[0], LATE[1]).equals(before)
    assert store.query("SELECT count(*) AS n FROM raw_311_requests WHERE sr_number LIKE 'SRX-LATE-%'")["n"].item() == 41


def test_features_need_their_history_materialized_first(warehouse, tmp_path):
    settings = Settings(data_dir=tmp_path, h3_resolution=RESOLUTION)
    fresh = build_definitions(settings)
    with fast_test_instance() as instance:
        materialize(fresh, fresh.resources, instance, ["raw_311_requests", "weather_daily"], T0, T0)
        result = dg.materialize(
            list(dict.fromkeys(ASSETS.values())), selection=["cell_day_features"], resources=fresh.resources,
            instance=instance, partition_key=T0.isoformat(), raise_on_error=False,
        )
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    message = error.to_string()
    assert "raw_311_requests lacks 729 partition(s)" in message and "chicago-risk materialize" in message
