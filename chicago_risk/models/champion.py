"""Champion and challenger: which model serves each week, decided once per weekly cutoff C.

`model_champion` holds one row per week (its partition column `cutoff`): the champion that
serves C..C+6 (`risk_predictions` scores with it, the API names it), the challenger beside it
(the newest fit of the served kind after the champion's, scored in shadow), the decision and its
reason, and the shadow scores of the pair the rule compared (the candidate and the incumbent
champion). Each change of an alias is logged in `model_aliases` (`chicago_risk.models.aliases`).

A week's decision reads only what was known at C: the fits stored at cutoffs <= C, the labels of
as-of days <= C - 8, the previous decided week's champion, the pin in force at C, and the
blocking checks of the `risk_model` runs that stored the fits. So a backfill replays the
decisions the live system made. In order:

1. a pin in force makes the pinned model champion (the challenger is still scored, and the
   reason says what the rule would have done);
2. no champion yet (the first week, or the previous champion is no longer stored), or one on
   feature definitions that have changed since (it cannot score): the newest servable fit (on the
   current features, no failed blocking check) becomes champion, without shadow evidence;
3. otherwise the promotion rule (`chicago_risk.models.promotion`) judges the challenger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import cast

import dagster as dg
import numpy as np
import polars as pl

from chicago_risk.config import MODEL_SETTINGS, ModelSettings
from chicago_risk.features.registry import registry_hash
from chicago_risk.models.aliases import CHALLENGER, CHAMPION, PIN, RULE, alias_at, alias_history, alias_rows, changed
from chicago_risk.models.model import FittedModel
from chicago_risk.models.promotion import DECISIONS, Verdict, judge
from chicago_risk.models.registry import ModelNotFoundError, fits_up_to, load_model
from chicago_risk.models.shadow import ShadowWindow
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk.upstream import materialize_command

MODEL_CHAMPION = "model_champion"
_SCORES = ("log_loss", "ece", "brier", "mean_p")
_SIDES = ("candidate", "incumbent")

MODEL_CHAMPION_SCHEMA: dict[str, pl.DataType] = {
    "cutoff": pl.Date(),  # the week C..C+6 this row decides
    "champion_model_id": pl.String(),
    "champion_cutoff": pl.Date(),
    "champion_since": pl.Date(),  # the first week of its current tenure
    "pinned": pl.Boolean(),
    "set_by": pl.String(),  # "rule", or the operator whose pin decided
    "challenger_model_id": pl.String(),  # null: the champion is the newest fit
    "challenger_cutoff": pl.Date(),
    "decision": pl.String(),  # a key of chicago_risk.models.promotion.DECISIONS
    "reason": pl.String(),
    # The pair the rule compared (null when it compared none): the candidate (the week's
    # challenger) and the incumbent champion, on the labelled as-of days of the shadow window.
    "candidate_model_id": pl.String(),
    "incumbent_model_id": pl.String(),
    "shadow_first_day": pl.Date(),
    "shadow_last_day": pl.Date(),
    "shadow_days": pl.Int64(),
    "shadow_rows": pl.Int64(),
    "shadow_event_rate": pl.Float64(),
    **{f"{side}_{score}": pl.Float64() for side in _SIDES for score in _SCORES},
    "decided_at": pl.Datetime("us"),  # UTC
}


@dataclass(frozen=True)
class Fit:
    """One fit of the served kind, as its first stored registry row."""

    model_id: str
    cutoff: date
    fitted_cutoff: date
    model_ids: tuple[str, ...]  # every row it is stored as
    current: bool  # on the current feature definitions


def failed_blocking_checks(instance: dg.DagsterInstance, cutoff: date) -> tuple[str, ...]:
    """Blocking checks that failed in the run that last materialized `risk_model` for `cutoff`
    (none when no run did: a registry written outside Dagster)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("risk_model"), asset_partitions=[cutoff.isoformat()]), limit=1
    ).records
    if not records:
        return ()
    evaluations = [
        entry.asset_check_evaluation
        for entry in instance.all_logs(records[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    return tuple(sorted({e.check_name for e in evaluations if e is not None and e.blocking and not e.passed}))


class WeekDecider:
    """Decides weeks one after the other; each model and each fit's checks are read once."""

    def __init__(self, warehouse: WarehouseResource, instance: dg.DagsterInstance, settings: ModelSettings) -> None:
        self.warehouse = warehouse
        self.instance = instance
        self.settings = settings
        self._models: dict[str, FittedModel] = {}
        self._failed: dict[date, tuple[str, ...]] = {}
        self._predicted: dict[str, pl.DataFrame] = {}  # model_id -> day, h3_id, p

    def decide(self, cutoff: date, previous: dict | None, pin: dict | None) -> dict:
        """The `model_champion` row of `cutoff` (without `decided_at`)."""
        fits = self._fits(cutoff)
        by_id = {model_id: fit for fit in fits for model_id in fit.model_ids}
        row: dict = {"cutoff": cutoff, "pinned": False, "set_by": RULE}
        incumbent = by_id.get(previous["champion_model_id"]) if previous else None
        if pin is not None:
            champion = self._pinned(by_id, pin, cutoff)
            challenger = _newest_after(fits, champion)
            rule = self._judge(row, challenger, champion, cutoff) if challenger else None
            opinion = f"; the rule would say {rule.decision}: {rule.reason}" if rule else ""
            verdict = Verdict(
                "pinned", f"pinned by {pin['set_by']} from {pin['effective_from']}: {pin['reason']}{opinion}"
            )
            row.update(pinned=True, set_by=pin["set_by"])
        elif incumbent is not None and incumbent.current:
            champion, challenger = incumbent, _newest_after(fits, incumbent)
            verdict = Verdict("no_challenger", DECISIONS["no_challenger"])
            if challenger is not None:
                verdict = self._judge(row, challenger, incumbent, cutoff)
                if verdict.promotes:
                    champion, challenger = challenger, _newest_after(fits, challenger)
        else:
            champion = self._newest_servable(fits, cutoff)
            challenger = _newest_after(fits, champion)
            verdict = (
                Verdict("champion_stale_features", f"{incumbent.model_id} was trained on other feature definitions "
                        f"than the current {registry_hash()}: {champion.model_id} replaces it without shadow evidence")
                if incumbent is not None else
                Verdict("first_champion",
                        f"no champion yet{_gone(previous)}: {champion.model_id} is the newest servable model")
            )
        since = cutoff
        if previous is not None and previous["champion_model_id"] == champion.model_id:
            since = previous["champion_since"]
        return {name: None for name in MODEL_CHAMPION_SCHEMA} | row | {
            "champion_model_id": champion.model_id, "champion_cutoff": champion.cutoff,
            "champion_since": since,
            "challenger_model_id": challenger.model_id if challenger else None,
            "challenger_cutoff": challenger.cutoff if challenger else None,
            "decision": verdict.decision, "reason": verdict.reason,
        }

    def _fits(self, cutoff: date) -> list[Fit]:
        stored = fits_up_to(self.warehouse, self.settings.served_kind, cutoff)
        current = registry_hash()
        return [
            Fit(
                r["model_id"], r["cutoff"], r["fitted_cutoff"], tuple(r["model_ids"]),
                r["feature_registry_hash"] == current,
            )
            for r in stored.iter_rows(named=True)
        ]

    def _failed_checks(self, fit: Fit) -> tuple[str, ...]:
        if fit.cutoff not in self._failed:
            self._failed[fit.cutoff] = failed_blocking_checks(self.instance, fit.cutoff)
        return self._failed[fit.cutoff]

    def _model(self, fit: Fit) -> FittedModel:
        if fit.model_id not in self._models:
            self._models[fit.model_id] = load_model(self.warehouse, fit.model_id)
        return self._models[fit.model_id]

    def _predictions(self, fit: Fit, rows: pl.DataFrame) -> np.ndarray:
        """`fit`'s model on `rows`, predicting only the days it has not scored before (a row's
        probability depends on that row alone)."""
        known = self._predicted.get(fit.model_id)
        new = rows if known is None else rows.filter(~pl.col("day").is_in(known["day"].unique().implode()))
        if new.height:
            fresh = new.select("day", "h3_id").with_columns(p=self._model(fit).predict_proba(new))
            known = fresh if known is None else pl.concat([known, fresh])
            self._predicted[fit.model_id] = known
        assert known is not None
        return rows.select("day", "h3_id").join(known, on=["day", "h3_id"], how="left", maintain_order="left")[
            "p"
        ].to_numpy()

    def _newest_servable(self, fits: list[Fit], cutoff: date) -> Fit:
        for fit in reversed(fits):
            if fit.current and not self._failed_checks(fit):
                return fit
        raise ModelNotFoundError(
            f"no {self.settings.served_kind} model stored at a cutoff on or before {cutoff} is on the current "
            f"feature definitions and passed its risk_model checks: train one; run: "
            f"{materialize_command(['risk_model', MODEL_CHAMPION], cutoff, cutoff)}"
        )

    def _pinned(self, by_id: dict[str, Fit], pin: dict, cutoff: date) -> Fit:
        pinned = by_id.get(pin["model_id"])
        fix = (
            "pin another model (chicago-risk model pin MODEL_ID --reason ...) "
            "or unpin (chicago-risk model unpin --reason ...)"
        )
        if pinned is None:
            raise ModelNotFoundError(
                f"the pinned model {pin['model_id']} is not a stored {self.settings.served_kind} model with a "
                f"cutoff on or before {cutoff}: {fix}"
            )
        if not pinned.current:
            raise ModelNotFoundError(
                f"the pinned model {pin['model_id']} was trained on other feature definitions: {fix}"
            )
        return pinned

    def _judge(self, row: dict, challenger: Fit, champion: Fit, cutoff: date) -> Verdict:
        """The rule on the pair; the pair and its shadow scores go into `row`."""
        window = ShadowWindow.of(self.warehouse, challenger.fitted_cutoff, cutoff)
        # Week after week the same pair is judged on a window one week longer: each keeps its
        # predictions of the days it has scored, and only the pair's are kept.
        pair = {challenger.model_id, champion.model_id}
        self._predicted = {model_id: p for model_id, p in self._predicted.items() if model_id in pair}
        scores = {
            side: window.scores(self._model(fit), partial(self._predictions, fit))
            for side, fit in zip(_SIDES, (challenger, champion), strict=True)
        }
        row.update(
            candidate_model_id=challenger.model_id, incumbent_model_id=champion.model_id,
            shadow_first_day=window.first_day, shadow_last_day=window.last_day, shadow_days=window.days,
            shadow_rows=window.rows.height, shadow_event_rate=window.event_rate,
            **{
                f"{side}_{name}": getattr(scores[side], name) if scores[side] else None
                for side in _SIDES for name in _SCORES
            },
        )
        return judge(
            scores["incumbent"], scores["candidate"], window.days, self._failed_checks(challenger),
            self.settings.champion, self.settings.ece_target,
        )


def _newest_after(fits: list[Fit], champion: Fit) -> Fit | None:
    """The newest fit on the current features fitted after the champion's (fits: oldest first)."""
    newer = [f for f in fits if f.current and f.fitted_cutoff > champion.fitted_cutoff]
    return newer[-1] if newer else None


def _gone(previous: dict | None) -> str:
    return f" (the previous champion {previous['champion_model_id']} is no longer stored)" if previous else ""


def previous_decision(warehouse: WarehouseResource, cutoff: date) -> dict | None:
    """The newest decided week before `cutoff`."""
    if not warehouse.table_exists(MODEL_CHAMPION):
        return None
    rows = warehouse.query(f"SELECT * FROM {MODEL_CHAMPION} WHERE cutoff < ? ORDER BY cutoff DESC LIMIT 1", [cutoff])
    return rows.row(0, named=True) if rows.height else None


def decide_weeks(
    warehouse: WarehouseResource, instance: dg.DagsterInstance, cutoffs: list[date], run_id: str | None,
    decided_at: datetime, settings: ModelSettings = MODEL_SETTINGS,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The decisions of `cutoffs`, oldest first (each from the one before), and the
    `model_aliases` rows of the values they change."""
    history = alias_history(warehouse)
    first = len(history)
    previous = previous_decision(warehouse, min(cutoffs))
    decider, decided = WeekDecider(warehouse, instance, settings), []
    for cutoff in sorted(cutoffs):
        pin = alias_at(history, PIN, cutoff)
        row = decider.decide(cutoff, previous, pin if pin and pin["model_id"] else None) | {"decided_at": decided_at}
        values = changed(history, cutoff, {CHAMPION: row["champion_model_id"], CHALLENGER: row["challenger_model_id"]})
        history = pl.concat([history, alias_rows(
            values, cutoff, row["set_by"], f"{row['decision']}: {row['reason']}", decided_at, run_id
        )])
        decided.append(row)
        previous = row
    return pl.DataFrame(decided, schema=MODEL_CHAMPION_SCHEMA), history.slice(first)


def champions_for_days(warehouse: WarehouseResource, days: pl.Series) -> pl.DataFrame:
    """For each day, the champion of its week: `day`, `model_id`, `cutoff`. Raises when a week
    is not decided, with the command that decides it."""
    wanted = days.unique().sort().to_frame("day").with_columns(
        week=pl.col("day") - pl.duration(days=pl.col("day").dt.weekday() - 1)
    )
    decided = (
        warehouse.query(
            f"SELECT cutoff AS week, champion_model_id AS model_id, champion_cutoff AS cutoff FROM {MODEL_CHAMPION} "
            "WHERE cutoff BETWEEN ? AND ?", [wanted["week"].min(), wanted["week"].max()],
        )
        if warehouse.table_exists(MODEL_CHAMPION)
        else pl.DataFrame(schema={"week": pl.Date, "model_id": pl.String, "cutoff": pl.Date})
    )
    served = wanted.join(decided, on="week", how="left")
    undecided = served.filter(pl.col("model_id").is_null())["week"].unique().sort()
    if undecided.len():
        first, last = cast(date, undecided.min()), cast(date, undecided.max())
        raise ModelNotFoundError(
            f"no champion is decided for {undecided.len()} week(s) {first}..{last}; run: "
            f"{materialize_command([MODEL_CHAMPION], first, last + timedelta(days=6))}"
        )
    return served.select("day", "model_id", "cutoff")
