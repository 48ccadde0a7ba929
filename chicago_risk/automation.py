"""How derived assets follow their inputs, declared once (the asset modules attach these).

Every derived daily asset re-materializes the partitions whose inputs changed: after the nightly
ingest, after a weekly retraining, after a backfill launched from the UI or the command line. The
`follow_upstream_sensor` (see `chicago_risk.schedules`) evaluates the conditions and launches what
they request as backfills by each asset's policy, so two years of new upstream partitions are one
run per asset (two, a year each, for the layers of every cell and day), not 730.

- Unlike Dagster's `eager()`, not only the latest day follows: a re-read of the last 14 days or a
  backfill of 2023 updates its own downstream days.
- Nothing runs on a missing input or while an input is being written.
- Nothing runs past a failed blocking check: a raw day that fails `daily_volume_plausible` stops
  its features, predictions, cost and publication until it is fixed.
"""

from datetime import timedelta

import dagster as dg

# Every partition whose inputs changed, not only the latest window's.
_EAGER_EVERY_WINDOW = dg.AutomationCondition.eager().without(dg.AutomationCondition.in_latest_time_window())

FOLLOW_UPSTREAM = (
    _EAGER_EVERY_WINDOW & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("follow_upstream")

# For the weekly champion decision: it follows the retraining even past a failed blocking check of
# `risk_model`, since deciding the week is what keeps that fit out of service while the champion
# goes on serving (`chicago_risk.models.champion`).
FOLLOW_UPSTREAM_PAST_CHECKS = _EAGER_EVERY_WINDOW.with_label("follow_upstream_past_checks")

# For unpartitioned tables rebuilt from whatever their inputs hold (the published model): they
# follow any update and do not wait for every upstream partition to exist.
FOLLOW_ANY_UPSTREAM = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
).with_label("follow_any_upstream")

# Tables whose content is the code itself (the feature registry): built when missing or when the
# definitions change.
FOLLOW_CODE = (
    dg.AutomationCondition.missing() | dg.AutomationCondition.code_version_changed()
).with_label("follow_code")

# The nightly ingest runs at 02:30 Chicago; a day's layers are late when they have not been
# refreshed for more than a day and a few hours (warn), or a day and a half (fail).
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=36), warn_window=timedelta(hours=28))
# The model retrains every Monday.
WEEKLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=8), warn_window=timedelta(days=7, hours=6))
