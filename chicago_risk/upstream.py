"""Is the upstream complete? What every asset that reads history asks before it computes, and the
command that completes it, in one place: an asset never computes from a partial history, and the
command it prints works exactly as printed (a test runs each kind).

    require_materialized(context, "raw_311_requests", first, last)   # MissingUpstreamError if not
    materialize_command(["risk_model"])    # 'chicago-risk materialize --select risk_model'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import dagster as dg

from chicago_risk.partitions import DATA_FIRST_DAY


class MissingUpstreamError(RuntimeError):
    """Upstream partitions a computation needs have not been materialized."""


def materialize_command(assets: Sequence[str], start: date | None = None, end: date | None = None) -> str:
    """The `chicago-risk materialize` command that builds `assets` for start..end (without dates:
    the default window, the last CHICAGO_RISK_SERVED_DAYS days); the history they read comes along."""
    window = (f" --start {start}" if start else "") + (f" --end {end}" if end else "")
    return f"chicago-risk materialize{window} --select {','.join(assets)}"


def materialized_days(context: dg.AssetExecutionContext, asset: str, first: date, last: date) -> list[date]:
    """The days first..last (from the data's first day) that `asset` has materialized."""
    done = context.instance.get_materialized_partitions(dg.AssetKey(asset))
    first = max(first, DATA_FIRST_DAY)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [day for day in days if day.isoformat() in done]


def require_materialized(context: dg.AssetExecutionContext, asset: str, first: date, last: date) -> None:
    """Fail clearly, with the command to run, instead of computing from a partial history."""
    first = max(first, DATA_FIRST_DAY)
    done = set(materialized_days(context, asset, first, last))
    missing = [
        first + timedelta(days=i) for i in range((last - first).days + 1) if first + timedelta(days=i) not in done
    ]
    if missing:
        raise MissingUpstreamError(
            f"{asset} lacks {len(missing)} partition(s) between {missing[0]} and {missing[-1]} that "
            f"{context.assets_def.key.to_user_string()} needs; run: "
            f"{materialize_command([asset], missing[0], missing[-1])}"
        )
