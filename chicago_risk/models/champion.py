"""Champion and challenger: which model serves each week, decided once per weekly cutoff.

The `model_champion` table holds one row per weekly cutoff C (its partition column `cutoff`):
the model that serves C..C+6 (`champion_model_id`, in `risk_predictions` and the API), the fit
waiting to replace it (`challenger_model_id`), the decision and its reason, and the shadow
scores of the pair compared that week (the candidate and the incumbent champion, on the same
labelled rows). Each change of an alias is also appended to `model_aliases`
(`chicago_risk.models.aliases`).

A week's decision reads only what was known at C: the registry rows with cutoff <= C, the labels
of as-of days <= C - 8, the previous decided week's champion and the operator's pins effective by
C. So a backfill replays the decisions the live system would have made, and `risk_predictions`
(and the backtest of what was served) sees the models that would actually have served.

Before the rule (`chicago_risk.models.promotion`):
- an operator's pin effective in the week makes the pinned model champion (the challenger is still
  scored, and the reason says what the rule would have done);
- no champion yet (day one, or the previous champion's cutoff was retrained since): the newest
  model on current feature definitions becomes champion;
- a champion on stale feature definitions (the feature registry changed): the newest current
  model replaces it at once, since the stale one cannot score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import polars as pl

from chicago_risk.config import MODEL_SETTINGS, ModelSettings
from chicago_risk.features.registry import registry_hash
from chicago_risk.models.aliases import RULE, AliasEvent, alias_at, alias_history, event_rows, utc_now
from chicago_risk.models.promotion import DECISIONS, Verdict, judge
from chicago_risk.models.registry import ModelNotFoundError, load_model, rows_up_to
from chicago_risk.models.shadow import ShadowScores, last_labelled_on, load_shadow_rows, shadow_scores
from chicago_risk.storage.warehouse import WarehouseResource

MODEL_CHAMPION = "model_champion"
_SCORES = ("days", "rows", "log_loss", "ece", "brier", "mean_p")

MODEL_CHAMPION_SCHEMA: dict[str, pl.DataType] = {
    "cutoff": pl.Date(),  # the week C..C+6 this row decides
    "champion_model_id": pl.String(),
    "champion_cutoff": pl.Date(),
    "champion_since": pl.Date(),  # the first week of its current tenure
    "pinned": pl.Boolean(),
    "challenger_model_id": pl.String(),  # null: the champion is the newest fit
    "challenger_cutoff": pl.Date(),
    "decision": pl.String(),  # a key of chicago_risk.models.promotion.DECISIONS
    "reason": pl.String(),
    "set_by": pl.String(),  # "rule", or the operator whose pin decided
    # The pair compared this week: the candidate (the challenger, or the model it promoted) and
    # the incumbent champion, on the labelled as-of days shadow_first_day..shadow_last_day.
    "candidate_model_id": pl.String(),
    "incumbent_model_id": pl.String(),
    "shadow_first_day": pl.Date(),
    "shadow_last_day": pl.Date(),
    "event_rate": pl.Float64(),
    **{f"{side}_{score}": (pl.Int64() if score in ("days", "rows") else pl.Float64())
       for side in ("candidate", "incumbent") for score in _SCORES},
    "decided_at": pl.Datetime("us"),  # UTC
}


@dataclass(frozen=True)
class Fit:
    """A registry row of the served kind."""

    model_id: str
    cutoff: date
    fitted_cutoff: date
    fit_key: str
    current: bool  # trained on the current feature definitions


@dataclass(frozen=True)
class Candidates:
    """The served kind's rows stored at or before a cutoff, and the first row of each fit."""

    rows: dict[str, Fit]  # by model_id
    fits: list[Fit]  # the first stored row of each distinct fit, oldest fit first

    @classmethod
    def at(cls, warehouse: WarehouseResource, kind: str, cutoff: date) -> Candidates:
        frame = rows_up_to(warehouse, kind, cutoff).with_columns(current=pl.col("feature_registry_hash") == registry_hash())
        rows = {r["model_id"]: Fit(r["model_id"], r["cutoff"], r["fitted_cutoff"], r["fit_key"], r["current"])
                for r in frame.iter_rows(named=True)}
        first = frame.sort("cutoff").group_by("fit_key", maintain_order=True).first()
        fits = [rows[m] for m in frame.filter(pl.col("model_id").is_in(first["model_id"].implode()))["model_id"]]
        return cls(rows, fits)

    def newest_current(self) -> Fit | None:
        current = [f for f in self.fits if f.current]
        return current[-1] if current else None

    def challenger_of(self, champion: Fit) -> Fit | None:
        """The newest current fit fitted after the champion's, None when the champion is the newest."""
        order = [f.fit_key for f in self.fits]
        newer = order[order.index(champion.fit_key) + 1:] if champion.fit_key in order else []
        current = [f for f in self.fits if f.fit_key in newer and f.current]
        return current[-1] if current else None


# (challenger, champion) -> their shadow scores on the same rows, and the rows' days
ScorePair = Callable[[Fit, Fit], tuple[ShadowScores | None, ShadowScores | None, date, date]]
FailedChecks = Callable[[Fit], tuple[str, ...]]


def decide_week(
    cutoff: date, candidates: Candidates, previous: dict | None, pin: dict | None,
    score_pair: ScorePair, failed_checks: FailedChecks, settings: ModelSettings = MODEL_SETTINGS,
) -> dict:
    """The `model_champion` row of `cutoff` (without `decided_at`)."""
    newest = candidates.newest_current()
    if newest is None:
        raise ModelNotFoundError(
            f"no {settings.served_kind} model on the current feature definitions has a cutoff on or before {cutoff}: "
            f"materialize risk_model for partition {cutoff} (chicago-risk materialize --select risk_model "
            f"--start {cutoff} --end {cutoff})"
        )
    row: dict = {"cutoff": cutoff, "set_by": RULE, "pinned": False}
    pinned_id = pin["model_id"] if pin else None
    previous_id = previous["champion_model_id"] if previous else None
    incumbent = candidates.rows.get(previous_id) if previous_id else None
    if pinned_id:
        champion = _pinned(candidates, pinned_id, cutoff)
        challenger = candidates.challenger_of(champion)
        row.update(pinned=True, set_by=pin["set_by"])
        rule = _compare(row, challenger, champion, score_pair, failed_checks, settings) if challenger else None
        verdict = Verdict("pinned", f"pinned by {pin['set_by']} from {pin['effective_from']}: {pin['reason']}"
                          + (f"; the rule would say: {rule.decision} ({rule.reason})" if rule else ""))
    elif incumbent is None:
        champion, challenger = newest, None
        gone = f" (the previous champion {previous_id} is no longer in the registry)" if previous_id else ""
        verdict = Verdict("first_champion", f"no champion yet{gone}: {newest.model_id} is the newest model")
    elif not incumbent.current:
        champion, challenger = newest, None
        verdict = Verdict(
            "champion_stale_features",
            f"{incumbent.model_id} was trained on other feature definitions than the current {registry_hash()}: "
            f"{newest.model_id} replaces it without shadow evidence",
        )
    else:
        champion, challenger = incumbent, candidates.challenger_of(incumbent)
        if challenger is None:
            verdict = Verdict("no_challenger", DECISIONS["no_challenger"])
        else:
            verdict = _compare(row, challenger, incumbent, score_pair, failed_checks, settings)
            if verdict.promotes:
                champion, challenger = challenger, candidates.challenger_of(challenger)
    same = previous is not None and previous["champion_model_id"] == champion.model_id
    return row | {
        "champion_model_id": champion.model_id, "champion_cutoff": champion.cutoff,
        "champion_since": previous["champion_since"] if same else cutoff,
        "challenger_model_id": challenger.model_id if challenger else None,
        "challenger_cutoff": challenger.cutoff if challenger else None,
        "decision": verdict.decision, "reason": verdict.reason,
    }


def _pinned(candidates: Candidates, model_id: str, cutoff: date) -> Fit:
    pinned = candidates.rows.get(model_id)
    fix = "pin another model (chicago-risk model pin MODEL_ID --reason ...) or unpin (chicago-risk model unpin --reason ...)"
    if pinned is None:
        raise ModelNotFoundError(f"the pinned model {model_id} is not a stored model with a cutoff on or before {cutoff}: {fix}")
    if not pinned.current:
        raise ModelNotFoundError(f"the pinned model {model_id} was trained on other feature definitions than the current: {fix}")
    return pinned


def _compare(
    row: dict, challenger: Fit, champion: Fit, score_pair: ScorePair, failed_checks: FailedChecks,
    settings: ModelSettings,
) -> Verdict:
    """The rule on the pair; their scores go into `row`."""
    candidate, incumbent, first, last = score_pair(challenger, champion)
    row.update(
        candidate_model_id=challenger.model_id, incumbent_model_id=champion.model_id,
        shadow_first_day=first, shadow_last_day=last,
        event_rate=candidate.event_rate if candidate else None,
        **{f"candidate_{k}": getattr(candidate, k) if candidate else None for k in _SCORES},
        **{f"incumbent_{k}": getattr(incumbent, k) if incumbent else None for k in _SCORES},
    )
    return judge(incumbent, candidate, failed_checks(challenger), settings.champion, settings.ece_target)


class ShadowScorer:
    """Shadow scores of pairs of models, each model loaded once and each window of rows read once."""

    def __init__(self, warehouse: WarehouseResource) -> None:
        self.warehouse = warehouse
        self.models: dict = {}
        self.rows: dict[tuple[date, date], pl.DataFrame] = {}

    def __call__(self, challenger: Fit, champion: Fit, cutoff: date) -> tuple[ShadowScores | None, ShadowScores | None, date, date]:
        first, last = challenger.fitted_cutoff, last_labelled_on(cutoff)
        if (first, cutoff) not in self.rows:
            self.rows[(first, cutoff)] = load_shadow_rows(self.warehouse, first, cutoff)
        rows = self.rows[(first, cutoff)]
        scores = [shadow_scores(self._model(f.model_id), rows) for f in (challenger, champion)]
        return scores[0], scores[1], first, last

    def _model(self, model_id: str):
        if model_id not in self.models:
            self.models[model_id] = load_model(self.warehouse, model_id)
        return self.models[model_id]


def failed_blocking_checks(instance: dg.DagsterInstance, fit: Fit) -> tuple[str, ...]:
    """Blocking checks that failed in the run that last materialized the fit's `risk_model`
    partition (none when no run did: a registry written outside Dagster)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("risk_model"), asset_partitions=[fit.cutoff.isoformat()]), limit=1
    ).records
    if not records:
        return ()
    failed = {
        entry.asset_check_evaluation.check_name
        for entry in instance.all_logs(records[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if entry.asset_check_evaluation is not None and entry.asset_check_evaluation.blocking
        and not entry.asset_check_evaluation.passed
    }
    return tuple(sorted(failed))


def previous_decision(warehouse: WarehouseResource, cutoff: date) -> dict | None:
    """The newest decided week before `cutoff`."""
    if not warehouse.table_exists(MODEL_CHAMPION):
        return None
    rows = warehouse.query(f"SELECT * FROM {MODEL_CHAMPION} WHERE cutoff < ? ORDER BY cutoff DESC LIMIT 1", [cutoff])
    return rows.row(0, named=True) if rows.height else None


def decide_weeks(
    warehouse: WarehouseResource, instance: dg.DagsterInstance, cutoffs: list[date], run_id: str | None,
    settings: ModelSettings = MODEL_SETTINGS,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The decisions of `cutoffs`, in order (each from the one before), and the `model_aliases`
    rows that record the changes of alias they make."""
    history = alias_history(warehouse)
    logged = history.clear()
    previous = previous_decision(warehouse, min(cutoffs))
    scorer = ShadowScorer(warehouse)
    decided = []
    for cutoff in sorted(cutoffs):
        row = decide_week(
            cutoff, Candidates.at(warehouse, settings.served_kind, cutoff), previous, alias_at(history, "pin", cutoff),
            lambda challenger, champion, c=cutoff: scorer(challenger, champion, c),
            lambda fit: failed_blocking_checks(instance, fit), settings,
        ) | {"decided_at": utc_now()}
        changes = [
            AliasEvent(alias, row[f"{alias}_model_id"], cutoff, row["set_by"], f"{row['decision']}: {row['reason']}", run_id)
            for alias in ("champion", "challenger")
            if _value(alias_at(history, alias, cutoff)) != row[f"{alias}_model_id"]
        ]
        new = event_rows(changes, row["decided_at"])
        history, logged = pl.concat([history, new]), pl.concat([logged, new])
        decided.append({k: row.get(k) for k in MODEL_CHAMPION_SCHEMA})
        previous = row
    return pl.DataFrame(decided, schema=MODEL_CHAMPION_SCHEMA), logged


def _value(event: dict | None) -> str | None:
    return event["model_id"] if event else None


def served_models_for_days(warehouse: WarehouseResource, days: pl.Series) -> pl.DataFrame:
    """For each day, the champion of its week: `day`, `model_id`, `cutoff`. Raises when a week
    is not decided, naming the partitions to materialize."""
    wanted = days.unique().sort().to_frame("day").with_columns(
        week=pl.col("day") - pl.duration(days=pl.col("day").dt.weekday() - 1)
    )
    decided = (
        warehouse.query(
            f"SELECT cutoff AS week, champion_model_id AS model_id, champion_cutoff AS cutoff FROM {MODEL_CHAMPION} "
            "WHERE cutoff BETWEEN ? AND ?", [wanted["week"].min(), wanted["week"].max()],
        )
        if warehouse.table_exists(MODEL_CHAMPION) else pl.DataFrame(schema={"week": pl.Date, "model_id": pl.String, "cutoff": pl.Date})
    )
    served = wanted.join(decided, on="week", how="left")
    undecided = served.filter(pl.col("model_id").is_null())["week"].unique().sort()
    if undecided.len():
        first, last = undecided.min(), undecided.max()
        raise ModelNotFoundError(
            f"no champion is decided for {undecided.len()} week(s) {first}..{last}: materialize model_champion for "
            f"those weekly partitions (chicago-risk materialize --select model_champion --start {first} --end "
            f"{last + timedelta(days=6)})"
        )
    return served.select("day", "model_id", "cutoff")
