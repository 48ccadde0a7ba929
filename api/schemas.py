"""Response and request models: the OpenAPI schema of the contract (MAP_UI_CONTRACT.md).

Layer routes send pre-rendered bytes for speed; these models are what those bytes are, and the
tests validate every response against them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from api.params import H3_PATTERN
from chicago_risk.features.registry import FEATURES

RiskBand = Literal["low", "medium", "high"]
CostMode = Literal["total", "energy", "water", "repair"]
Position = Annotated[list[float], Field(min_length=2, max_length=2, description="[lon, lat]")]


# --- GeoJSON (RFC 7946) ---------------------------------------------------------------------

class Polygon(BaseModel):
    type: Literal["Polygon"]
    coordinates: list[list[Position]] = Field(description="closed rings, the exterior counter-clockwise")


class MultiPolygon(BaseModel):
    type: Literal["MultiPolygon"]
    coordinates: list[list[list[Position]]]


class Point(BaseModel):
    type: Literal["Point"]
    coordinates: Position


Outline = Annotated[Polygon | MultiPolygon, Field(discriminator="type")]


class Driver(BaseModel):
    feature: str
    value: float | None = Field(description="the feature's value for the cell and day")
    contribution: float = Field(description="signed TreeSHAP contribution, log-odds of the uncalibrated score")
    label: str = Field(description="the feature in plain words")


class RiskProperties(BaseModel):
    h3_id: str
    p_event_7d: float = Field(ge=0, le=1, description="probability of a leak-related 311 incident in the next 7 days")
    risk_band: RiskBand
    confidence: float = Field(ge=0, le=1)
    expected_events: float = Field(ge=0)
    drivers: list[Driver] = Field(description="top contributions, largest first; empty where not computed")


class CostProperties(BaseModel):
    h3_id: str
    expected_cost_usd_7d: float | None
    p90_cost: float | None
    cost_energy_usd_mean: float | None
    cost_water_usd_mean: float | None
    cost_repair_usd_mean: float | None
    leak_volume_m3_mean: float | None
    cost_quantile: float | None = Field(description="rank of the cell's expected cost among cells, 0 to 1")


class RecommendationProperties(BaseModel):
    rec_id: str
    action_type: str
    delta_p_psi: float | None
    time_window: str | None
    expected_savings_usd: float | None
    expected_savings_usd_p90: float | None
    member_h3_ids: list[str]
    rationale: list[str]


class EventProperties(BaseModel):
    sr_number: str
    created_date: str = Field(description="Chicago local time, YYYY-MM-DDTHH:MM:SS")
    closed_date: str | None
    status: str
    type: str
    summary: str = Field(description="the request type, and the street only where the city published it")
    h3_id: str
    duplicate: bool


class RiskFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Polygon
    properties: RiskProperties


class CostFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Polygon
    properties: CostProperties


class RecommendationFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Outline
    properties: RecommendationProperties


class EventFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Point
    properties: EventProperties


class DayLayer(BaseModel):
    type: Literal["FeatureCollection"]
    layer: str
    date: date
    partition: str = Field(description="content version of the published partition the features come from")
    count: int


class RiskLayer(DayLayer):
    features: list[RiskFeature]


class CostLayer(DayLayer):
    cost_mode: CostMode
    cost_field: str = Field(description="the property that `cost_mode` and `min_cost_usd` refer to")
    features: list[CostFeature]


class RecommendationsLayer(DayLayer):
    features: list[RecommendationFeature]


class GridCell(BaseModel):
    h3_id: str


class GridFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Polygon
    properties: GridCell


class GridLayer(BaseModel):
    """Every cell of the grid the layers are published on, with its hexagon (`GET /api/grid`)."""

    type: Literal["FeatureCollection"]
    h3_resolution: int
    grid_version: str = Field(description="digest of the resolution and the cell ids: a new grid is a new version")
    count: int
    features: list[GridFeature]


class ValuesHead(BaseModel):
    layer: str
    date: date
    partition: str = Field(description="content version of the published partition the values come from")
    grid_version: str = Field(description="the `GET /api/grid` version the `h3_id`s belong to")
    count: int


class RiskColumns(BaseModel):
    """Row-aligned arrays: the i-th cell is h3_id[i], p_event_7d[i], ..."""

    h3_id: list[str]
    p_event_7d: list[Annotated[float, Field(ge=0, le=1)]]
    risk_band: list[RiskBand]
    confidence: list[Annotated[float, Field(ge=0, le=1)]]
    expected_events: list[Annotated[float, Field(ge=0)]]


class RiskValues(ValuesHead):
    values: RiskColumns


class CostColumns(BaseModel):
    """Row-aligned arrays, the properties of `GET /api/layers/cost`."""

    h3_id: list[str]
    expected_cost_usd_7d: list[float | None]
    p90_cost: list[float | None]
    cost_energy_usd_mean: list[float | None]
    cost_water_usd_mean: list[float | None]
    cost_repair_usd_mean: list[float | None]
    leak_volume_m3_mean: list[float | None]
    cost_quantile: list[float | None]


class CostValues(ValuesHead):
    cost_mode: CostMode
    cost_field: str
    values: CostColumns


class CityProperties(BaseModel):
    name: str
    source: str = Field(description="where the outline comes from and how it was simplified")
    attribution: str = Field(description="the credit a map showing the outline displays")


class CityFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Outline
    properties: CityProperties


class CityOutline(BaseModel):
    """The city limits the grid is cut from (`GET /api/city`)."""

    type: Literal["FeatureCollection"]
    features: list[CityFeature] = Field(min_length=1, max_length=1)


class EventsLayer(BaseModel):
    type: Literal["FeatureCollection"]
    layer: str
    start_date: date
    end_date: date
    dates_published: list[date]
    count: int
    features: list[EventFeature]


# --- meta, drill-downs ----------------------------------------------------------------------

class Grid(BaseModel):
    h3_resolution: int
    cells: int
    version: str = Field(description="the grid's version (`GET /api/grid` serves its shapes)")
    path: str = Field(description="the route serving every cell's shape")


class LayerStatus(BaseModel):
    date_min: date | None
    date_max: date | None
    partitions: int
    latest_partition: str | None
    source_version: str | None


class RiskBandThresholds(BaseModel):
    """How `risk_band` follows from p_event_7d: low below `medium_from`, medium from it, high
    from `high_from`."""

    medium_from: float = Field(gt=0, lt=1, description="lowest p_event_7d of the medium band")
    high_from: float = Field(gt=0, lt=1, description="lowest p_event_7d of the high band")


class DegradedDay(BaseModel):
    """A published day whose layers rest on degraded inputs, and why."""

    date: date
    reasons: list[str]


class DateRun(BaseModel):
    """Consecutive published days, `first` to `last` included."""

    first: date
    last: date


class AliasedModel(BaseModel):
    model_id: str
    cutoff: date = Field(description="the training cutoff it is stored at (its registry row's)")


class ChampionModel(AliasedModel):
    since: date = Field(description="the first week of its current tenure")
    pinned: bool = Field(description="an operator's pin, not the promotion rule, made it champion")
    set_by: str = Field(description="`rule`, or the operator who pinned it")


class ShadowScore(BaseModel):
    model_id: str
    log_loss: float | None
    ece: float | None


class ShadowComparison(BaseModel):
    """The pair the promotion rule compared for the week, on the same labelled days (none while
    the challenger is younger than the label horizon)."""

    first_day: date
    last_day: date
    days: int
    event_rate: float | None
    candidate: ShadowScore = Field(description="the week's challenger")
    incumbent: ShadowScore = Field(description="the champion it was compared with")


class ModelAliases(BaseModel):
    """The served model (alias `champion`: what `/api/v1/predict/flood` scores with and the week's
    risk layers are scored with) and the newer fit scored in shadow beside it (alias `challenger`),
    as decided for the newest week."""

    week: date = Field(description="the Monday of the week decided")
    champion: ChampionModel
    challenger: AliasedModel | None
    decision: str = Field(description="what the week's decision was (promoted, kept_worse_log_loss, pinned, ...)")
    reason: str = Field(description="the decision in words, with the numbers behind it")
    shadow: ShadowComparison | None


class Meta(BaseModel):
    city: str
    city_outline_path: str = Field(description="the route serving the city outline (GeoJSON)")
    grid: Grid
    date_min: date | None = Field(description="first date with a published risk layer")
    date_max: date | None = Field(description="last date with a published risk layer")
    latest_date: date | None = Field(
        description=(
            "the newest day on which every map layer is published: what `date=latest` (and a request "
            "without a date) shows. A later date answers 404 `not_yet_published` naming it."
        )
    )
    published_dates: list[DateRun] = Field(
        description=(
            "the days on which every map layer (risk, cost, recommendations, events) is published, "
            "as runs of consecutive days in date order; a day between two runs is not published. "
            "Empty while no day has every layer."
        )
    )
    risk_bands: RiskBandThresholds
    horizons_days: list[int]
    last_refresh_utc: datetime | None
    risk_model_version: str | None = Field(description="the model behind the newest published risk layer")
    models: ModelAliases | None = Field(description="the champion and the challenger; null until a week is decided")
    pricing_model_version: str | None
    recommendation_version: str | None
    leak_311_types: list[str]
    recommendation_action_types: list[str] = Field(
        description="the configured action types, in the configured order, then any other published one"
    )
    layers: dict[str, LayerStatus]
    degraded_days: list[DegradedDay] = Field(
        description=(
            "published days (of `published_dates`) whose layers rest on degraded inputs: weather the "
            "source lacked and the product filled, or a 311 day the source left empty after retries "
            "or does not hold; each with its reasons"
        )
    )


class HistoryPoint(BaseModel):
    date: date
    p_event_7d: float | None
    risk_band: RiskBand | None
    expected_cost_usd: float | None = Field(description="expected 7-day cost; null where not published")
    events: int | None = Field(description="incidents observed in the cell that day; null where not published")


class CellHistory(BaseModel):
    h3_id: str
    days: int
    end_date: date = Field(description="the last day of the window (`days` count back from it)")
    history: list[HistoryPoint]


class WeatherDay(BaseModel):
    date: date
    tmin_c: float | None
    precip_mm: float | None
    freeze: bool | None


class CellEvent(BaseModel):
    sr_number: str
    created_date: str
    status: str
    type: str
    summary: str


class CellRisk(BaseModel):
    p_event_7d: float
    risk_band: RiskBand
    confidence: float
    expected_events: float
    drivers: list[Driver]


class CellDetail(BaseModel):
    h3_id: str
    date: date
    risk: CellRisk | None
    cost: CostProperties | None
    series: list[HistoryPoint]
    weather: list[WeatherDay]
    recent_events: list[CellEvent]
    drivers_summary: list[str]


class SavingsBreakdown(BaseModel):
    water_usd: float | None
    energy_usd: float | None
    repair_usd: float | None


class PlanParams(BaseModel):
    delta_p_psi: float | None
    time_window: str | None
    night: date | None = Field(description="the first night the plan schedules; null if unscheduled")
    slot: int | None


class LinkedEvent(CellEvent):
    h3_id: str


class RecommendationDetail(BaseModel):
    rec_id: str
    date: date
    action_type: str
    member_h3_ids: list[str]
    savings_breakdown: SavingsBreakdown
    expected_savings_usd: float | None
    expected_savings_usd_p90: float | None
    linked_events: list[LinkedEvent]
    plan_params: PlanParams
    why: list[str]
    outline: Outline


# --- scoring --------------------------------------------------------------------------------

FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]
# One optional field per registry feature: the schema lists exactly the names an override may use.
# The ignore: mypy checks a **dict against every keyword of create_model (__config__, __doc__, ...),
# and pydantic's Field(None) is typed None, so no overload fits the call pydantic documents.
FeatureOverrides = create_model(  # type: ignore[call-overload]
    "FeatureOverrides",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Values replacing the stored feature row's, by registry name (null: keep the stored value).",
    **{f.name: (FiniteNumber | None, Field(None, description=f.description)) for f in FEATURES},
)


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zone_id: str = Field(pattern=H3_PATTERN, description="an H3 cell of the published grid (404 otherwise)")
    timestamp: datetime = Field(description="as-of moment; without a zone it is Chicago local time")
    features: FeatureOverrides | None = Field(default=None, description="feature overrides, applied to the stored row")


class Contribution(BaseModel):
    feature: str
    contrib: float = Field(description="signed TreeSHAP contribution, log-odds")
    value: float | None
    label: str


class PredictMeta(BaseModel):
    model: str
    model_cutoff: date
    features_date: date
    zone_id: str
    risk_band: RiskBand
    overridden: list[str] = Field(description="the overridden features the model reads")
    not_read_by_model: list[str] = Field(description="overridden features the served model does not read (no effect)")


class PredictResponse(BaseModel):
    prediction_id: str
    risk_score: float = Field(ge=0, le=1, description="the calibrated probability, as CityAssist clients expect")
    probability: float = Field(ge=0, le=1)
    explain: list[Contribution]
    meta: PredictMeta


# --- operations and errors ------------------------------------------------------------------

class Health(BaseModel):
    status: Literal["ok"]


class ReadyLayer(BaseModel):
    published: bool
    readable: bool
    date_max: date | None


class Ready(BaseModel):
    status: Literal["ready", "not_ready"]
    layers: dict[str, ReadyLayer]


class ErrorDetail(BaseModel):
    error: str
    message: str
    parameter: str | None = None
    date_min: date | None = None
    date_max: date | None = None
    nearest_dates: list[date] = []


class ErrorBody(BaseModel):
    detail: ErrorDetail
