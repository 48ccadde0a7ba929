"""Typed settings of the cost layer and the pressure-test recommendations: every prior and
tunable, each with its source. CHICAGO_FACTS is `../shared/design/CHICAGO_FACTS.md`; a default
marked "assumption" has no published Chicago figure behind it and is the first to revisit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from chicago_risk.config.domain import LABEL_HORIZON_DAYS
from chicago_risk.config.model import RiskBands

PSI_TO_PA = 6_894.757  # 1 psi in pascals
J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class SeverityClass:
    """One severity class: what an incident of it loses and costs to repair."""

    name: str
    leak_volume_m3: float
    repair_usd: float


# Mildest first: the evidence thresholds of `SeverityEvidence` climb through them in this order.
SEVERITY_CLASSES: tuple[SeverityClass, ...] = (
    # Assumption: a service or joint leak of ~1 m3/h found within a day; a crew visit.
    SeverityClass("minor", leak_volume_m3=25.0, repair_usd=500.0),
    # Assumption: ~2 h at an open hydrant's flow (CHICAGO_FACTS: about 128 m3/h); a service-line
    # or hydrant repair.
    SeverityClass("moderate", leak_volume_m3=250.0, repair_usd=2_500.0),
    # A main break: hydrant-like flow for ~12 h (assumption); CHICAGO_FACTS: a main break costs
    # about $10,000 to repair on average (US and Canada, 2023).
    SeverityClass("major", leak_volume_m3=1_500.0, repair_usd=10_000.0),
)


@dataclass(frozen=True)
class SeverityEvidence:
    """How 311 history is read as severity (see `chicago_risk.cost.severity`).

    An incident is in severity class i (i >= 1, the classes' order) if it drew at least
    `repeats_at_least[i - 1]` repeat reports or took at least `resolution_ratio_at_least[i - 1]`
    times its request type's median time to close, the highest such class, else the first (a
    request cancelled by the as-of day is in the first: nothing was repaired). Times are relative
    to each type's own median because types close at different speeds for reasons that are not
    severity (CHICAGO_FACTS: hours for No Water, months for Water Quality). Defaults, for
    moderate then major, are assumptions.
    """

    history_days: int = 365  # a year, so every season's incidents count
    # Incidents younger than this at the as-of day have not had time to show how severe they are.
    settle_days: int = 14
    repeats_at_least: tuple[int, ...] = (1, 2)
    resolution_ratio_at_least: tuple[float, ...] = (1.5, 4.0)
    # Fewer incidents of a type than this in the window: its median time to close is
    # `RequestType.median_close_hours` of the domain config instead of the learned one.
    min_type_incidents: int = 20
    # Class shares of a type group are shrunk toward `prior_mix` by a Dirichlet prior worth this
    # many incidents, so a group with few incidents keeps a sane mix (assumption).
    prior_incidents: float = 50.0
    prior_mix: tuple[float, ...] = (0.70, 0.25, 0.05)  # assumption; one share per severity class
    # A cell's mix of type groups is shrunk toward the city's by this many incidents.
    cell_mix_prior_incidents: float = 5.0
    # Groups whose incidents are leaks of the pressurised network: lower pressure means less
    # flow from them and fewer of them (CHICAGO_FACTS, FAVAD and the 112 schemes). Sewer,
    # basement flooding and water quality do not respond to a pressure step.
    pressure_sensitive_groups: tuple[str, ...] = ("main", "street", "hydrant")

    def __post_init__(self) -> None:
        if not math.isclose(sum(self.prior_mix), 1.0) or min(self.prior_mix) <= 0:
            raise ValueError(f"prior_mix must be positive shares summing to 1, got {self.prior_mix}")
        for name in ("repeats_at_least", "resolution_ratio_at_least"):
            thresholds = getattr(self, name)
            if min(thresholds) <= 0 or list(thresholds) != sorted(set(thresholds)):
                raise ValueError(f"{name} must be positive and increasing, got {thresholds}")
        if self.settle_days >= self.history_days:
            raise ValueError("settle_days must be shorter than history_days")


@dataclass(frozen=True)
class Prices:
    """What a lost cubic metre is worth."""

    # CHICAGO_FACTS: worldwide non-revenue water is valued at about $0.31/m3, a proxy for the
    # variable production cost of water lost from the network. Chicago's retail rate is
    # $1.29/m3 (2025): use it to value lost water as lost revenue instead.
    water_usd_per_m3: float = 0.31
    # CHICAGO_FACTS: about 0.30 kWh/m3 for distribution in surface-water systems.
    distribution_kwh_per_m3: float = 0.30
    # The head term rho*g*H/eta at the network's operating pressure (CHICAGO_FACTS: about
    # 0.027 kWh/m3 for 10 psi at 70% efficiency).
    operating_pressure_psi: float = 60.0
    pump_efficiency: float = 0.70
    # Assumption (not in CHICAGO_FACTS): EIA puts US industrial electricity at ~$0.08-0.09/kWh
    # and commercial at ~$0.13/kWh in 2024.
    electricity_usd_per_kwh: float = 0.10

    @property
    def energy_kwh_per_m3(self) -> float:
        """Distribution energy plus the head term at the operating pressure."""
        # rho*g*H is the pressure itself: P pascals lift one cubic metre by P joules.
        head = self.operating_pressure_psi * PSI_TO_PA / self.pump_efficiency / J_PER_KWH
        return self.distribution_kwh_per_m3 + head


@dataclass(frozen=True)
class PressureSettings:
    """The night pressure step and the hydraulics that bound it (see `chicago_risk.cost.pressure`).

    Pressure at a cluster's critical point at hour h is `static_pressure_psi - peak_headloss_psi
    * demand(h)^1.852` (Hazen-Williams friction), less `low_pressure_penalty_psi` per Low Water
    Pressure complaint in the cluster's last `low_pressure_days` days (customers there already see
    low pressure). A step is allowed in an hour if that pressure minus the step stays at or above
    `floor_psi`; its window is the longest run of such night hours.
    """

    # Assumption: a zone designed so that its critical point just meets the 35 psi floor at peak
    # demand (65 - 30 = 35).
    static_pressure_psi: float = 65.0
    peak_headloss_psi: float = 30.0
    headloss_exponent: float = 1.852  # Hazen-Williams
    # CHICAGO_FACTS: service pressure above 35 psi normally (above 20 psi at peak with fire flow).
    floor_psi: float = 35.0
    steps_psi: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
    # Demand as a share of the daily peak, per night hour (assumption: a typical residential
    # diurnal curve, lowest around 02:00-03:00). Hours in order; the window never leaves them.
    night_demand: tuple[tuple[int, float], ...] = (
        (22, 0.55), (23, 0.45), (0, 0.35), (1, 0.28), (2, 0.25), (3, 0.25), (4, 0.30), (5, 0.45),
    )
    # CHICAGO_FACTS: L1/L0 = (P1/P0)^N1, N1 about 1.0 for mixed systems (0.5 rigid bursts, 1.5+
    # background leaks and flexible pipes).
    leak_exponent_n1: float = 1.0
    # CHICAGO_FACTS: across 112 schemes a 37% cut in maximum pressure brought 53% fewer bursts.
    burst_pressure_cut: float = 0.37
    burst_reduction: float = 0.53
    # Assumption: each recent low-pressure complaint costs 5 psi of headroom.
    low_pressure_penalty_psi: float = 5.0
    low_pressure_days: int = 30
    low_pressure_sr_type: str = "Low Water Pressure Complaint"

    def __post_init__(self) -> None:
        if not self.steps_psi or min(self.steps_psi) <= 0 or list(self.steps_psi) != sorted(set(self.steps_psi)):
            raise ValueError(f"steps_psi must be positive, increasing and distinct, got {self.steps_psi}")
        if self.floor_psi >= self.static_pressure_psi:
            raise ValueError(f"floor_psi {self.floor_psi} must be below static_pressure_psi {self.static_pressure_psi}")
        if not 0 < self.burst_pressure_cut < 1 or not 0 < self.burst_reduction < 1:
            raise ValueError("burst_pressure_cut and burst_reduction are shares in (0, 1)")

    @property
    def burst_exponent(self) -> float:
        """N such that bursts scale as (P1/P0)^N: (1 - 0.37)^N = 1 - 0.53 gives N = 1.63."""
        return math.log(1 - self.burst_reduction) / math.log(1 - self.burst_pressure_cut)


@dataclass(frozen=True)
class ClusterSettings:
    # Cells at or above this p_event_7d are candidates: the model's high band.
    min_p_event_7d: float = RiskBands().high_from
    # A district metered area serves ~500-3,000 connections (IWA practice); a resolution-9 cell of
    # Chicago holds ~200 households (2.7 M people on 606 km2, 0.105 km2 a cell). Larger connected
    # groups are split along the H3 hierarchy into blocks of at most this many cells.
    max_cells: int = 7

    def __post_init__(self) -> None:
        if self.max_cells < 1 or not 0 < self.min_p_event_7d < 1:
            raise ValueError(f"need max_cells >= 1 and 0 < min_p_event_7d < 1, got {self}")


@dataclass(frozen=True)
class ScheduleSettings:
    # Assumption: three pressure-step crews a night across the city.
    tests_per_night: int = 3
    nights: int = LABEL_HORIZON_DAYS  # the predictions' horizon

    def __post_init__(self) -> None:
        if self.tests_per_night < 1 or self.nights < 1:
            raise ValueError(f"tests_per_night and nights must be >= 1, got {self}")


@dataclass(frozen=True)
class CostSettings:
    classes: tuple[SeverityClass, ...] = SEVERITY_CLASSES
    severity: SeverityEvidence = field(default_factory=SeverityEvidence)
    prices: Prices = field(default_factory=Prices)
    pressure: PressureSettings = field(default_factory=PressureSettings)
    clusters: ClusterSettings = field(default_factory=ClusterSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    quantile: float = 0.90  # p90_cost and expected_savings_usd_p90

    def __post_init__(self) -> None:
        severity, classes = self.severity, len(self.classes)
        if len(severity.prior_mix) != classes:
            raise ValueError(f"severity.prior_mix has {len(severity.prior_mix)} shares for {classes} classes")
        if not len(severity.repeats_at_least) == len(severity.resolution_ratio_at_least) == classes - 1:
            raise ValueError(f"severity thresholds need one value per class above the first ({classes - 1})")

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)


COST_SETTINGS = CostSettings()
