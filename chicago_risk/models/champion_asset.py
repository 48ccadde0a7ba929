"""`model_champion` (weekly, partition = the cutoff C): the champion that serves C..C+6 and the
challenger beside it, decided by the shadow scores of the two and the promotion rule, in table
`model_champion`; alias changes appended to `model_aliases` (see `chicago_risk.models.champion`).

It reads `risk_model`'s rows of cutoffs <= C and the feature store's labelled days before C
(within the two years `risk_model` reads, so a backfill plans them with it). It follows every
`risk_model` materialization, old weeks included, and `risk_predictions` follows it.
"""


from collections.abc import Callable, Iterator
from datetime import date
from functools import cache

import dagster as dg
import polars as pl

from chicago_risk.automation import FOLLOW_UPSTREAM, WEEKLY_FRESHNESS
from chicago_risk.config import MODEL_SETTINGS
from chicago_risk.metadata import column_schema, markdown_table
from chicago_risk.models.aliases import append_events
from chicago_risk.models.champion import MODEL_CHAMPION, MODEL_CHAMPION_SCHEMA, Candidates, decide_weeks
from chicago_risk.models.promotion import DECISIONS
from chicago_risk.partitions import model_partitions, single_run
from chicago_risk.storage.io_manager import window_days
from chicago_risk.storage.warehouse import WarehouseResource

SETTINGS = MODEL_SETTINGS
CHAMPION_CODE_VERSION = "1"
REJECTED = ("kept_worse_log_loss", "kept_ece", "challenger_failed_checks")

model_champion_checks = [
    dg.AssetCheckSpec(
        "champion_can_serve", asset=MODEL_CHAMPION, blocking=True,
        description="each week's champion is a stored model of the served kind, on the current feature "
        "definitions, with a cutoff on or before the week",
    ),
    dg.AssetCheckSpec(
        "challenger_not_rejected", asset=MODEL_CHAMPION, blocking=False,
        description="no challenger was kept out by the rule (worse log loss or ECE in shadow, or a failed "
        "risk_model check): a fit that loses to last month's deserves a look at its run and model card",
    ),
]


@dg.asset(
    partitions_def=model_partitions,
    backfill_policy=single_run,
    group_name="models",
    kinds={"duckdb"},
    code_version=CHAMPION_CODE_VERSION,
    deps=["risk_model"],
    automation_condition=FOLLOW_UPSTREAM,
    freshness_policy=WEEKLY_FRESHNESS,
    check_specs=model_champion_checks,
    metadata={"table": MODEL_CHAMPION, "partition_column": "cutoff",
              "dagster/column_schema": column_schema(MODEL_CHAMPION_SCHEMA)},
)
def model_champion(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The week's champion (what `risk_predictions` and the API serve) and challenger: the newest
    fit scored in shadow beside the champion on the labelled days since its cutoff, promoted by
    the rule of `ChampionSettings`, unless an operator's pin decides (`chicago-risk model pin`)."""
    cutoffs = sorted(date.fromisoformat(key) for key in context.partition_keys)
    decided, changes = decide_weeks(warehouse, context.instance, cutoffs, context.run_id, SETTINGS)
    start, end = window_days(context.partition_time_window)
    warehouse.replace_partitions(MODEL_CHAMPION, decided, start, end, partition_column="cutoff")
    append_events(warehouse, changes)
    for row in decided.iter_rows(named=True):
        log = context.log.warning if row["decision"] in REJECTED else context.log.info
        log(f"week {row['cutoff']}: champion {row['champion_model_id']}, challenger {row['challenger_model_id']}: "
            f"{row['decision']} ({row['reason']})")
    newest = decided.row(-1, named=True)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": decided.height,
            "table": MODEL_CHAMPION,
            "champion": newest["champion_model_id"],
            "champion_since": str(newest["champion_since"]),
            "challenger": newest["challenger_model_id"] or "none",
            "pinned": newest["pinned"],
            "decision": newest["decision"],
            "reason": newest["reason"],
            "decisions": dg.MetadataValue.md(markdown_table(decided.select(
                "cutoff", "decision", "champion_model_id", "challenger_model_id", "shadow_first_day", "shadow_last_day",
                "candidate_days", "candidate_log_loss", "incumbent_log_loss", "candidate_ece", "incumbent_ece", "reason",
            ))),
            "alias_changes": dg.MetadataValue.md(
                "\n".join(f"- {e['alias']} = {e['model_id'] or 'none'} from {e['effective_from']} (by {e['set_by']})"
                          for e in changes.iter_rows(named=True)) or "none"
            ),
            "rule": dg.MetadataValue.json({
                "min_shadow_days": SETTINGS.champion.min_shadow_days,
                "log_loss_tolerance": SETTINGS.champion.log_loss_tolerance,
                "ece_bound": f"max({SETTINGS.ece_target}, champion's ECE + {SETTINGS.champion.ece_slack})",
            }),
        }
    )
    yield from _checks(decided, cache(lambda cutoff: Candidates.at(warehouse, SETTINGS.served_kind, cutoff)))


def _checks(decided: pl.DataFrame, candidates_at: Callable[[date], Candidates]) -> Iterator[dg.AssetCheckResult]:
    unservable = [
        f"{row['cutoff']}: {row['champion_model_id']}" for row in decided.iter_rows(named=True)
        if not ((fit := candidates_at(row["cutoff"]).rows.get(row["champion_model_id"])) and fit.current
                and fit.cutoff <= row["cutoff"])
    ]
    yield dg.AssetCheckResult(
        check_name="champion_can_serve", asset_key=MODEL_CHAMPION, passed=not unservable,
        metadata={"weeks_failing": dg.MetadataValue.json(unservable)},
    )
    rejected = decided.filter(pl.col("decision").is_in(REJECTED))
    yield dg.AssetCheckResult(
        check_name="challenger_not_rejected", asset_key=MODEL_CHAMPION, passed=rejected.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rejected": dg.MetadataValue.json(
            [f"{r['cutoff']}: {r['challenger_model_id']}: {DECISIONS[r['decision']]}: {r['reason']}"
             for r in rejected.iter_rows(named=True)]
        )},
    )
