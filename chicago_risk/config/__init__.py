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

from chicago_risk.config.domain import (
    CHICAGO_TZ,
    DATA_START,
    SOCRATA_DATASET,
    CITY_LAT,
    CITY_LON,
    RequestType,
    LEAK_TYPES,
    TYPE_GROUPS,
    TYPE_GROUP_BY_SR_TYPE,
    IngestChecks,
    LiveClients,
    LIVE_CLIENTS,
    WeatherRanges,
    WeatherFill,
    FeatureChecks,
    LABEL_HORIZON_DAYS,
    HEAVY_RAIN_MM,
)
from chicago_risk.config.model import (
    MODEL_KINDS,
    RiskBands,
    CalibrationSettings,
    LightGBMSettings,
    TrainingSettings,
    BacktestSettings,
    DriverSettings,
    ExplanationSettings,
    ChampionSettings,
    ModelSettings,
    MODEL_SETTINGS,
)
from chicago_risk.config.settings import (
    SourceName,
    Settings,
)
from chicago_risk.config.cost import (
    PSI_TO_PA,
    J_PER_KWH,
    SeverityClass,
    SeverityEvidence,
    Prices,
    PressureSettings,
    ClusterSettings,
    ScheduleSettings,
    CostSettings,
    COST_SETTINGS,
)
from chicago_risk.config.runs import RUN_SETTINGS, RunSettings
from chicago_risk.config.serving import (
    API_KEY_HEADER,
    read_api_keys,
    ServingSettings,
)
