"""`model_champion` (weekly, partition = the cutoff C): the champion that serves C..C+6 and the
challenger beside it, in table `model_champion`; alias changes appended to `model_aliases` (see
`chicago_risk.models.champion`).

It reads `risk_model`'s fits of cutoffs <= C and the feature store's labelled days before C
(inside the two years `risk_model` reads, so a backfill plans them with it). It follows every
`risk_model` materialization, old weeks included, and even one whose blocking check failed:
deciding the week is what keeps that fit out of service while the champion goes on serving.
`risk_predictions` follows it.
"""

from collections.abc import Iterator
from datetime import date

import dagster as dg
import polars as pl

from chicago_risk.automation import FOLLOW_UPSTREAM_PAST_CHECKS, WEEKLY_FRESHNESS
from chicago_risk.config import MODEL_SETTINGS
from chicago_risk.metadata import column_schema, markdown_table
from chicago_risk.models.aliases import append_aliases, utc_now
from chicago_risk.models.champion import MODEL_CHAMPION, MODEL_CHAMPION_SCHEMA, decide_weeks
from chicago_risk.models.promotion import REJECTED
from chicago_risk.partitions import model_partitions, single_run
from chicago_risk.storage.io_manager import window_days
from chicago_risk.storage.warehouse import WarehouseResource

SETTINGS = MODEL_SETTINGS
CHAMPION_CODE_VERSION = "1"


@dg.asset(
    partitions_def=model_partitions,
    backfill_policy=single_run,
    group_name="models",
    kinds={"duckdb"},
    code_version=CHAMPION_CODE_VERSION,
    # the week's fits, as a time window: a backfill widens risk_model to the weeks it decides
    deps=[dg.AssetDep("risk_model", partition_mapping=dg.TimeWindowPartitionMapping())],
    automation_condition=FOLLOW_UPSTREAM_PAST_CHECKS,
    freshness_policy=WEEKLY_FRESHNESS,
    check_specs=[
        dg.AssetCheckSpec(
            "challenger_not_rejected", asset=MODEL_CHAMPION,
            description="no challenger was kept out on its merits (worse shadow log loss or ECE, or a failed "
            "risk_model check): a fit that loses to the champion deserves a look at its run and model card",
        ),
    ],
    metadata={"table": MODEL_CHAMPION, "partition_column": "cutoff",
              "dagster/column_schema": column_schema(MODEL_CHAMPION_SCHEMA)},
)
def model_champion(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The week's champion (what `risk_predictions` and the API serve) and challenger: the newest
    fit, scored in shadow beside the champion on the labelled days since its fitted cutoff and
    promoted by the rule of `ChampionSettings`, unless an operator's pin decides
    (`chicago-risk model pin`)."""
    cutoffs = sorted(date.fromisoformat(key) for key in context.partition_keys)
    decided, aliases = decide_weeks(warehouse, context.instance, cutoffs, context.run_id, utc_now(), SETTINGS)
    start, end = window_days(context.partition_time_window)
    warehouse.replace_partitions(MODEL_CHAMPION, decided, start, end, partition_column="cutoff")
    append_aliases(warehouse, aliases)
    for row in decided.iter_rows(named=True):
        log = context.log.warning if row["decision"] in REJECTED else context.log.info
        log(f"week {row['cutoff']}: champion {row['champion_model_id']}, challenger {row['challenger_model_id']}: "
            f"{row['decision']} ({row['reason']})")
    newest = decided.row(-1, named=True)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": decided.height,
            "champion": newest["champion_model_id"],
            "challenger": newest["challenger_model_id"] or "none",
            "pinned": newest["pinned"],
            "decision": newest["decision"],
            "reason": newest["reason"],
            "decisions": dg.MetadataValue.md(markdown_table(decided.select(
                "cutoff", "decision", "champion_model_id", "challenger_model_id", "shadow_days",
                "candidate_log_loss", "incumbent_log_loss", "candidate_ece", "incumbent_ece",
            ))),
            "alias_changes": dg.MetadataValue.md(
                markdown_table(aliases.select("alias", "model_id", "effective_from", "set_by"))
            ),
            "rule": dg.MetadataValue.json({
                "min_shadow_days": SETTINGS.champion.min_shadow_days,
                "log_loss_tolerance": SETTINGS.champion.log_loss_tolerance,
                "ece_bound": f"max({SETTINGS.ece_target}, champion's ECE + {SETTINGS.champion.ece_slack})",
            }),
        }
    )
    rejected = decided.filter(pl.col("decision").is_in(REJECTED))
    yield dg.AssetCheckResult(
        check_name="challenger_not_rejected", asset_key=MODEL_CHAMPION, passed=rejected.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rejected": dg.MetadataValue.json(
            [
                f"{r['cutoff']}: {r['candidate_model_id']}: {r['decision']}: {r['reason']}"
                for r in rejected.iter_rows(named=True)
            ]
        )},
    )
