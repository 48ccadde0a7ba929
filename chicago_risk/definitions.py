"""The one Definitions of the chicago-risk code location."""

from __future__ import annotations

import dagster as dg
import matplotlib

from chicago_risk.config import Settings
from chicago_risk.cost.assets import COST_ASSETS
from chicago_risk.features.assets import cell_day_features, cell_day_labels, feature_registry
from chicago_risk.ingest.raw_311 import raw_311
from chicago_risk.ingest.weather import weather_daily
from chicago_risk.models.assets import MODEL_ASSETS, model_evaluation, with_oracle
from chicago_risk.models.champion_asset import model_champion
from chicago_risk.progress import progress_lines
from chicago_risk.publish.assets import PUBLISH_ASSETS
from chicago_risk.resources.city import CityGridResource
from chicago_risk.resources.reports import ReportsResource
from chicago_risk.schedules import JOBS, SCHEDULES, SENSORS
from chicago_risk.sources import build_sources
from chicago_risk.storage.resources import storage_resources

# Steps draw figures into PNG files (model evaluation, model card), never on a display; a
# desktop's interactive backend would open a GUI toolkit in every run process.
matplotlib.use("Agg")


def build_definitions(settings: Settings) -> dg.Definitions:
    requests_source, weather_source = build_sources(settings)
    assets: list = [
        raw_311, weather_daily, feature_registry, cell_day_features, cell_day_labels,
        *MODEL_ASSETS, model_champion, *COST_ASSETS, *PUBLISH_ASSETS,
    ]
    resources: dict = {
        "requests_source": requests_source,
        "weather_source": weather_source,
        "city": CityGridResource(h3_resolution=settings.h3_resolution),
        **storage_resources(settings),
        "reports": ReportsResource(folder=str(settings.reports_dir)),
    }
    if settings.source == "demo":
        from chicago_risk.demo_city.assets import demo_truth

        # The backtest scores the models against the city's own truth (oracle_share).
        assets = [with_oracle(a) if a is model_evaluation else a for a in assets] + [demo_truth]
        resources["demo_city"] = requests_source
    return dg.Definitions(
        assets=assets,
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=SENSORS,
        resources=resources,
        # Dagster's console logger, and progress lines (done/total, ETA) on the run's terminal.
        loggers={**dg.default_loggers(), "progress": progress_lines},
    )


defs = build_definitions(Settings.from_env())

