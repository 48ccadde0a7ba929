"""The one typed place a user tunes chicago-risk.

- `settings`: run-time settings read from the environment (`Settings.from_env`): data directory,
  source, grid resolution, live URLs.
- `domain`: the city's facts and the checks' thresholds: leak request types, partitions' origin,
  label horizon, weather ranges.
- `model`: the risk model: risk bands, calibration slice, LightGBM, backtest, drivers, the card's
  SHAP figures, promotion.
- `cost`: the cost layer's priors (severity classes, prices, pressure, clusters, crews), each
  with its source.
- `serving`: publication and the read API (published location, API keys, rate, CORS, caches).
- `runs`: how `chicago-risk materialize` executes a plan (runs side by side, memory-heavy steps).

Everything is importable from `chicago_risk.config` itself.
"""

from chicago_risk.config.cost import (
    COST_SETTINGS,
    J_PER_KWH,
    PSI_TO_PA,
    ClusterSettings,
    CostSettings,
    PressureSettings,
    Prices,
    ScheduleSettings,
    SeverityClass,
    SeverityEvidence,
)
from chicago_risk.config.domain import (
    CHICAGO_TZ,
    CITY_LAT,
    CITY_LON,
    DATA_START,
    HEAVY_RAIN_MM,
    LABEL_HORIZON_DAYS,
    LEAK_TYPES,
    LIVE_CLIENTS,
    SOCRATA_DATASET,
    TYPE_GROUP_BY_SR_TYPE,
    TYPE_GROUPS,
    FeatureChecks,
    IngestChecks,
    LiveClients,
    RequestType,
    WeatherFill,
    WeatherRanges,
    chicago_today,
)
from chicago_risk.config.model import (
    MODEL_KINDS,
    MODEL_SETTINGS,
    BacktestSettings,
    CalibrationSettings,
    ChampionSettings,
    DriverSettings,
    ExplanationSettings,
    LightGBMSettings,
    ModelSettings,
    RiskBands,
    TrainingSettings,
)
from chicago_risk.config.runs import RUN_SETTINGS, RunSettings
from chicago_risk.config.serving import (
    API_KEY_HEADER,
    ServingSettings,
    read_api_keys,
)
from chicago_risk.config.settings import (
    Settings,
    SourceName,
)

__all__ = [
    "API_KEY_HEADER",
    "CHICAGO_TZ",
    "CITY_LAT",
    "CITY_LON",
    "COST_SETTINGS",
    "DATA_START",
    "HEAVY_RAIN_MM",
    "J_PER_KWH",
    "LABEL_HORIZON_DAYS",
    "LEAK_TYPES",
    "LIVE_CLIENTS",
    "MODEL_KINDS",
    "MODEL_SETTINGS",
    "PSI_TO_PA",
    "RUN_SETTINGS",
    "SOCRATA_DATASET",
    "TYPE_GROUPS",
    "TYPE_GROUP_BY_SR_TYPE",
    "BacktestSettings",
    "CalibrationSettings",
    "ChampionSettings",
    "ClusterSettings",
    "CostSettings",
    "DriverSettings",
    "ExplanationSettings",
    "FeatureChecks",
    "IngestChecks",
    "LightGBMSettings",
    "LiveClients",
    "ModelSettings",
    "PressureSettings",
    "Prices",
    "RequestType",
    "RiskBands",
    "RunSettings",
    "ScheduleSettings",
    "ServingSettings",
    "Settings",
    "SeverityClass",
    "SeverityEvidence",
    "SourceName",
    "TrainingSettings",
    "WeatherFill",
    "WeatherRanges",
    "chicago_today",
    "read_api_keys",
]
