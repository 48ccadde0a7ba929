"""Typed settings of the risk model: what a user may tune, each with the reason for its default."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from chicago_risk.config.domain import LABEL_HORIZON_DAYS

# The kinds of model every cutoff trains, in the order reports list them.
MODEL_KINDS: tuple[str, ...] = ("climatology", "persistence", "seed_logistic", "etas", "lightgbm")


@dataclass(frozen=True)
class RiskBands:
    """`risk_band` of a cell-day from its calibrated p_event_7d: low below `medium_from`, high
    from `high_from`. The demo city's 7-day base rate is about 0.13 at H3 resolution 9 (one cell
    in eight sees an incident within a week): medium starts at about 1.5x it, high at 3x."""

    medium_from: float = 0.20
    high_from: float = 0.40

    def __post_init__(self) -> None:
        if not 0 < self.medium_from < self.high_from < 1:
            raise ValueError(
                f"risk bands need 0 < medium_from < high_from < 1, got {self.medium_from}, {self.high_from}"
            )


@dataclass(frozen=True)
class CalibrationSettings:
    """Where the calibration slice comes from and which map is fitted on it.

    The slice is `blocks` blocks of `block_days` whole days, spread evenly over the `span_days`
    before the last labelled day, so it covers every season the model will serve (a slice made of
    the last weeks before the cutoff miscalibrates the next season). Training rows keep
    `purge_days` (the label horizon) away from each block on both sides, so no training label
    window overlaps a calibration row's as-of day or label window.
    """

    blocks: int = 6
    block_days: int = 14
    span_days: int = 365
    purge_days: int = LABEL_HORIZON_DAYS
    # Isotonic regression overfits small calibration sets (Niculescu-Mizil & Caruana 2005 saw it
    # below about 1,000 rows); below this many events or non-events Platt scaling is used instead.
    isotonic_min_class_rows: int = 1_000
    # The isotonic map is fitted on equal-count bins of at least this many calibration rows, so
    # no step rests on a few rows (a step of 3 events in 3 rows would claim p = 1).
    isotonic_min_bin_rows: int = 200
    # ...and each bin's event rate is shrunk toward the slice's by a Beta prior worth this many rows.
    isotonic_prior_rows: float = 2.0
    # Fewer events (or non-events) than this and the model cannot be calibrated: the asset fails.
    min_class_rows: int = 30
    # Calibrated probabilities stay inside [floor, 1 - floor]: a finite log loss, and no cell is
    # ever told "impossible".
    probability_floor: float = 1e-4
    # Equal-mass bins of the calibration slice behind `confidence` (same as the ECE's).
    confidence_bins: int = 15


@dataclass(frozen=True)
class LightGBMSettings:
    """LightGBM boosted from a smooth offset (see `chicago_risk.models.gbm`), plain binary log
    loss, then calibration.

    Regularised for what the data is: millions of cell-days but only a few hundred distinct days
    of city-wide weather. Defaults chosen on the demo city's two-year window (see the model card):
    without `min_leaf_days` and with the day of year, trees memorised last year's particular
    weeks and storms and the next season came out miscalibrated (ECE 0.03-0.05 in a month).
    """

    # 100 rounds at 0.1 fit in a sixteenth of the time of 200 at 0.05 on the demo city (7 s against
    # 120 s a fold) for log loss within 0.0005, and halve TreeSHAP's cost per day.
    num_boost_round: int = 100
    learning_rate: float = 0.1
    num_leaves: int = 31
    min_data_in_leaf: int = 200
    # Every leaf holds at least this many days' worth of cell-days (weather and calendar are one
    # value per day for every cell: smaller leaves let trees isolate single days).
    min_leaf_days: float = 10.0
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 10.0
    max_bin: int = 63
    num_threads: int = 0  # 0: OpenMP's default, one per core
    seed: int = 20190101
    # Registry features the booster does not see: with one or two years of history the day of
    # year names last year's weeks, not the season (the weather features carry the season).
    excluded_features: tuple[str, ...] = ("doy_sin", "doy_cos")
    # Non-events kept for training (weighted back by 1 / rate, so probabilities stay unbiased):
    # with a ~13% base rate a quarter of the non-events loses nothing measurable on the demo city
    # (log loss within 0.0005 on its stormiest folds) and fits about 3x faster.
    negative_sample_rate: float = 0.25
    # Features along which risk may only rise: more recent incidents nearby, more rain or freezes
    # (observed or forecast). Keeps the trees from learning noise backwards on rare weather.
    increasing_features: tuple[str, ...] = (
        "cnt_7d", "cnt_30d", "cnt_365d", "decay_7d", "nbr_cnt_30d", "nbr_cnt_365d", "ring2_cnt_365d",
        "rate_7d_shrunk", "precip_mm", "precip_3d_mm", "freeze_thaw_7d", "heavy_rain",
        "fc_precip_7d_mm", "fc_freeze_days_7d",
    )

    # Per-cell incident counts that also enter the smooth offset, on a log scale with coefficients
    # >= 0 (see `chicago_risk.models.gbm`): trees are flat beyond the largest count training held,
    # so without them a storm's flooded cells (tens of calls a cell against training's few) scored
    # like training's busiest cells and all sat in one calibration step (the storm test: 109
    # flooded cells at p 0.37, none high). Recent and neighbouring counts: what a storm raises.
    offset_cell_features: tuple[str, ...] = ("cnt_7d", "decay_7d", "nbr_cnt_30d")

    # Share of training days whose forecast features are hidden (null) so that the trees learn
    # what an unknown forecast means (see `chicago_risk.models.gbm._forecast_dropout`). A tenth
    # of two years is ~70 days, enough for a branch of its own, and costs the forecast signal a
    # tenth of its training days.
    forecast_dropout: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.forecast_dropout < 1:
            raise ValueError(f"forecast_dropout must be in [0, 1), got {self.forecast_dropout}")
        if not 0 < self.negative_sample_rate <= 1:
            raise ValueError(f"negative_sample_rate must be in (0, 1], got {self.negative_sample_rate}")
        if not set(self.offset_cell_features) <= set(self.increasing_features):
            raise ValueError(
                f"offset_cell_features {self.offset_cell_features} must be increasing_features: the offset "
                "holds their coefficients >= 0"
            )

    def params(self) -> dict:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": self.bagging_freq,
            "lambda_l2": self.lambda_l2,
            "max_bin": self.max_bin,
            "num_threads": self.num_threads,
            # as good as "advanced" on the demo city (ECE within 0.0005) and far faster
            "monotone_constraints_method": "intermediate",
            "seed": self.seed,
            "deterministic": True,
            "verbosity": -1,
        }


@dataclass(frozen=True)
class ETASSettings:
    """The self-exciting baseline (`chicago_risk.models.etas`), fitted by EM."""

    # A seeded sample of at most this many training rows (as the seed logistic): each EM step is
    # a pass over the rows, and 400k rows still give each of the city's ~5,600 cells ~70 days.
    max_rows: int = 400_000
    # Each cell's background rate is shrunk toward the city's as if it held this many more
    # training rows at the city rate (the climatology's prior).
    prior_days: float = 56.0
    # EM stops when the mean log-likelihood per row gains less than `tolerance` in a step (on
    # the synthetic test city after ~250 steps, 5e-5 short of 3,000 steps' optimum: the rest
    # only moves weight between nearly collinear kernels).
    max_iterations: int = 500
    tolerance: float = 1e-7
    seed: int = 20190101


@dataclass(frozen=True)
class TrainingSettings:
    # Trailing days of labelled rows a model trains on (the feature store keeps two years).
    training_days: int = 730
    # Fewer training days than this (after the calibration blocks and purges) and training fails.
    min_training_days: int = 56
    # Every kind is fitted in full at the first weekly cutoff of every `refit_months`-th month
    # (counted from January); the weekly cutoffs until the next serve that fit (see
    # `chicago_risk.models.windows.fit_cutoff`). A week adds 1% to a two-year window and cannot
    # grow a tree of its own (leaves span `min_leaf_days` days), while a full fit of the city costs
    # 7-70 s: quarterly fits cut a two-year backfill's 106 fits to 9 (monthly: 25), for LightGBM
    # log loss within 0.0002 of monthly fits on the demo city's last six months (README). 1:
    # monthly; 0: a full fit at every cutoff. A drift-triggered retraining always fits.
    refit_months: int = 3
    # Prior strength of the climatology baseline: the city rate counts as this many cell-days.
    climatology_prior_days: float = 56.0
    # The seed logistic regression is fitted on at most this many training rows (a seeded sample):
    # beyond a few hundred thousand rows its 30 coefficients no longer move.
    logistic_max_rows: int = 400_000
    lightgbm: LightGBMSettings = field(default_factory=LightGBMSettings)
    etas: ETASSettings = field(default_factory=ETASSettings)

    @property
    def refit_lag_days(self) -> int:
        """How much earlier than a weekly cutoff the fit serving it may be: its first Monday of the
        month (up to 4 days in) `refit_months` months back at most."""
        return 31 * self.refit_months + 4 if self.refit_months else 0


@dataclass(frozen=True)
class BacktestSettings:
    """The rolling-origin backtest of `model_evaluation` (see `chicago_risk.models.backtest`).

    `folds` consecutive test periods ending on `last_test_day` (None: the newest as-of day whose
    label is complete at the evaluation's cutoff, i.e. cutoff - 8), each tested by models
    trained as `risk_model` would at its first day. `fold_days` None makes each fold a whole
    calendar month (the default: 12 monthly folds, a year of seasons, each a planner's month);
    a number makes folds of that many days instead (e.g. 7 for weekly folds around a storm). A
    fixed `last_test_day` pins the folds whatever the cutoff (to compare runs on the same days).
    """

    folds: int = 12
    fold_days: int | None = None
    last_test_day: date | None = None
    worst_misses: int = 10
    # Storm days: the wettest share of the test days (see `chicago_risk.models.storms`); 1% of
    # a year is 4 days. Their reliability table has fewer bins than the ECE's 15 so that each
    # bin still holds thousands of cell-days.
    storm_day_share: float = 0.01
    storm_reliability_bins: int = 5

    def __post_init__(self) -> None:
        if self.folds < 1 or (self.fold_days is not None and self.fold_days < 1):
            raise ValueError(
                f"the backtest needs folds >= 1 and fold_days >= 1 or None, got {self.folds}, {self.fold_days}"
            )
        if not 0 < self.storm_day_share <= 1:
            raise ValueError(f"storm_day_share must be in (0, 1], got {self.storm_day_share}")

    @property
    def longest_fold_days(self) -> int:
        return self.fold_days or 31


@dataclass(frozen=True)
class DriverSettings:
    """Top signed TreeSHAP contributions shown per cell: at least `min_drivers`, up to
    `max_drivers` while a contribution is at least `min_abs_contribution` (log-odds)."""

    min_drivers: int = 3
    max_drivers: int = 5
    min_abs_contribution: float = 0.05
    # TreeSHAP costs about 3.5 s per 6,000 rows (one day of the city at H3 resolution 9, measured
    # on the demo city): drivers for every cell of a two-year backfill would add ~45 min. So every
    # cell gets drivers on the last `all_cells_recent_days` days (before today, Chicago time),
    # older days only cells above the low band, which is where a planner looks at history; the
    # other rows hold an empty list. None: every cell of every day.
    all_cells_recent_days: int | None = 14


@dataclass(frozen=True)
class ExplanationSettings:
    """The model card's SHAP figures (`chicago_risk.models.explanations`): a beeswarm of
    `sample_rows` cell-days drawn from the `sample_days` days up to the card's day, and a
    waterfall of that day's highest-risk cell, each showing `max_display` features."""

    # TreeSHAP costs about 3.5 s per 6,000 rows on the demo city's model (`DriverSettings`):
    # 2,000 rows keep the card's SHAP step near a second and still fill a beeswarm.
    sample_rows: int = 2_000
    # Four weeks: the city-wide weather features vary from day to day, not across the cells of
    # one day, so a single day would show their effect as one point.
    sample_days: int = 28
    # The features whose rows a reader can tell apart in a figure of print size; the rest are
    # summed into one row.
    max_display: int = 12

    def __post_init__(self) -> None:
        if self.sample_rows < 2 or self.sample_days < 1 or self.max_display < 1:
            raise ValueError(
                "explanations need sample_rows >= 2 (a beeswarm of one row is a waterfall), "
                f"sample_days >= 1 and max_display >= 1; got {self.sample_rows}, {self.sample_days}, {self.max_display}"
            )


@dataclass(frozen=True)
class ChampionSettings:
    """When a weekly challenger replaces the served champion (`chicago_risk.models.promotion`).

    At each weekly cutoff C the newest fit after the champion's (the challenger) and the champion
    are scored in shadow on the same rows: every cell of each labelled as-of day from the
    challenger's fitted cutoff to C - 8 (labels are complete 8 days later). The challenger is
    promoted when it has at least `min_shadow_days` such days, its log loss is at most the
    champion's x (1 + `log_loss_tolerance`), its ECE at most max(`ModelSettings.ece_target`,
    the champion's ECE + `ece_slack`), and no blocking check of the `risk_model` run that stored
    it failed. Otherwise the champion keeps serving and the challenger waits for the next week.
    An operator's pin (`chicago-risk model pin`) decides over the rule.
    """

    # Two weeks: a week of city-wide weather is one regime (one storm week would decide alone).
    # With weekly decisions a fit is promoted at its fourth Monday (C + 21, the first with 14
    # labelled days), so the served model lags the newest by three weeks; a week adds about 1% to
    # a two-year training window (see `TrainingSettings.refit_months`), so the lag costs little.
    min_shadow_days: int = 14
    # Relative. Two successive monthly fits of the test city (160 cells) differed by 0.3% on 7
    # shadow days and 1.3% on 14 (2,240 cell-days: mostly noise; the city's 5,600 cells give 35x
    # the rows), a broken fit (the hackathon's uncalibrated fallback) by tens of percent. The
    # margin lets a fit that is as good within noise take over with its fresher data, and keeps
    # out one that is clearly worse.
    log_loss_tolerance: float = 0.01
    # ECE over a fortnight moves with the season for every model alike: a challenger is held to
    # the evaluation's target or, in a season where the champion misses it too, to within this
    # much of the champion's.
    ece_slack: float = 0.005

    def __post_init__(self) -> None:
        if self.min_shadow_days < 1:
            raise ValueError(f"min_shadow_days must be >= 1, got {self.min_shadow_days}")
        if self.log_loss_tolerance < 0 or self.ece_slack < 0:
            raise ValueError(
                f"log_loss_tolerance and ece_slack must be >= 0, got {self.log_loss_tolerance}, {self.ece_slack}"
            )


@dataclass(frozen=True)
class ModelSettings:
    served_kind: str = "lightgbm"
    bands: RiskBands = field(default_factory=RiskBands)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    drivers: DriverSettings = field(default_factory=DriverSettings)
    explanations: ExplanationSettings = field(default_factory=ExplanationSettings)
    champion: ChampionSettings = field(default_factory=ChampionSettings)
    # The per-day mean probability of risk_predictions is flagged when it leaves
    # [base rate / factor, base rate x factor] (the hackathon fallback gave 0.49 against 0.15).
    mean_probability_factor: float = 2.5
    # Targets the evaluation's warning checks hold the served model to.
    ece_target: float = 0.02


MODEL_SETTINGS = ModelSettings()
