"""Response and request models: the OpenAPI schema of the contract (MAP_UI_CONTRACT.md).

Layer routes send pre-rendered bytes for speed; these models are what those bytes are, and the
tests validate every response against them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class DateRun(BaseModel):
    """Consecutive published days, `first` to `last` included."""

    first: date
    last: date


class Meta(BaseModel):
    city: str
    city_outline_path: str = Field(description="the route serving the city outline (GeoJSON)")
    grid: Grid
    date_min: date | None = Field(description="first date with a published risk layer")
    date_max: date | None = Field(description="last date with a published risk layer")
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
    risk_model_version: str | None
    pricing_model_version: str | None
    recommendation_version: str | None
    leak_311_types: list[str]
    recommendation_action_types: list[str] = Field(
        description="the configured action types, in the configured order, then any other published one"
    )
    layers: dict[str, LayerStatus]


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

class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zone_id: str = Field(max_length=32, description="an H3 cell of the published grid")
    timestamp: datetime = Field(description="as-of moment; without a zone it is Chicago local time")
    features: dict[str, float] | None = Field(
        default=None, description="feature overrides by registry name, applied to the stored row"
    )


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
    overridden: list[str]


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
