"""An operator's override of a blocking check, carried by the run's tags.

A check that fails on something the operator has verified (a real spike the weather does not
explain, a day the city really had no requests) would stop the day and everything downstream of
it. The operator accepts it explicitly, for one run, with a reason:

- from the command line: `chicago-risk materialize --accept daily_volume_plausible@2024-06-20..2024-06-21
  --reason "water main break on Western Ave, checked in the portal"`;
- from the Dagster UI (Launchpad, or a backfill's tags): the same as run tags,
  `chicago-risk/accept.daily_volume_plausible` = `2024-06-20..2024-06-21` (or `all`),
  `chicago-risk/accept-reason` = the reason, and optionally `chicago-risk/accepted-by`.

A check honours an override that covers every day it found wrong: it reports passed, with
metadata naming the override, the accepted days, the reason and the operator, and logs a warning
line in the run. An override never hides what was found: the metadata keeps it, and a failure on
a day the override does not cover still fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg

ACCEPT_PREFIX = "chicago-risk/accept."
REASON_TAG = "chicago-risk/accept-reason"
OPERATOR_TAG = "chicago-risk/accepted-by"
EVERY_DAY = "all"


class OverrideError(ValueError):
    """An override that cannot be honoured as written; the message says how to write it."""


@dataclass(frozen=True)
class Override:
    """The operator's acceptance of one check's failure on some days (none listed: every day)."""

    check_name: str
    days: tuple[tuple[date, date], ...]
    reason: str
    operator: str

    def covers(self, day: date) -> bool:
        return not self.days or any(first <= day <= last for first, last in self.days)

    def describe_days(self) -> str:
        return format_days(self.days)


def format_days(days: Sequence[tuple[date, date]]) -> str:
    return ",".join(str(a) if a == b else f"{a}..{b}" for a, b in days) or EVERY_DAY


def parse_days(text: str) -> tuple[tuple[date, date], ...]:
    """`all`, or comma-separated days and ranges: `2024-06-20..2024-06-21,2024-07-02`."""
    text = text.strip()
    if text in ("", EVERY_DAY):
        return ()
    ranges = []
    for part in text.split(","):
        first, _, last = part.strip().partition("..")
        try:
            ranges.append((date.fromisoformat(first), date.fromisoformat(last or first)))
        except ValueError:
            raise OverrideError(
                f"{part.strip()!r} is not a day or a range of days; write YYYY-MM-DD or "
                "YYYY-MM-DD..YYYY-MM-DD (several separated by commas), or 'all'"
            ) from None
        if ranges[-1][0] > ranges[-1][1]:
            raise OverrideError(f"{part.strip()!r} ends before it starts")
    return tuple(ranges)


def accept_tags(accepts: Iterable[str], reason: str | None, operator: str) -> dict[str, str]:
    """`CHECK[@DAYS]` arguments (the command line's --accept) -> the run tags that carry them."""
    accepts = list(accepts)
    if not accepts:
        return {}
    if not reason or not reason.strip():
        raise OverrideError("--accept needs --reason: say why the check's finding is accepted")
    tags = {REASON_TAG: reason.strip(), OPERATOR_TAG: operator}
    for accept in accepts:
        check_name, _, days = accept.partition("@")
        if not _is_check_name(check_name):
            raise OverrideError(f"{check_name!r} is not a check name (e.g. daily_volume_plausible)")
        tags[ACCEPT_PREFIX + check_name] = format_days(parse_days(days))
    return tags


def _is_check_name(name: str) -> bool:
    """Letters, digits and _: Dagster's rule for check names, and safe in a tag key."""
    return bool(name) and all(c.isalnum() or c == "_" for c in name)


def run_overrides(tags: Mapping[str, str]) -> dict[str, Override]:
    """The overrides a run's tags carry, by check name."""
    accepted = {key[len(ACCEPT_PREFIX):]: value for key, value in tags.items() if key.startswith(ACCEPT_PREFIX)}
    if not accepted:
        return {}
    reason = (tags.get(REASON_TAG) or "").strip()
    if not reason:
        raise OverrideError(
            f"the run accepts {', '.join(sorted(accepted))} but has no {REASON_TAG} tag: an "
            "override needs the operator's reason"
        )
    operator = tags.get(OPERATOR_TAG) or f"not given (tag {OPERATOR_TAG})"
    return {name: Override(name, parse_days(days), reason, operator) for name, days in accepted.items()}


def honour_override(
    context: dg.AssetExecutionContext,
    result: dg.AssetCheckResult,
    failing_days: Sequence[date] | None = None,
) -> dg.AssetCheckResult:
    """`result`, passed with the override's metadata when it failed and the run accepts the check
    on every day it found wrong (`failing_days`; None: a check without days, which only an
    override of every day covers)."""
    if result.passed or result.check_name is None:  # (an unnamed check cannot be accepted by name)
        return result
    override = run_overrides(context.run.tags).get(result.check_name)
    if override is None:
        return result
    if not override.days:
        uncovered = []
    elif failing_days is None:
        uncovered = ["every day (this check does not judge days one by one: accept it with 'all')"]
    else:
        uncovered = [str(day) for day in failing_days if not override.covers(day)]
    metadata: dict[str, Any] = {
        **result.metadata,
        "override": f"{ACCEPT_PREFIX}{override.check_name}",
        "override_days": override.describe_days(),
        "override_reason": override.reason,
        "override_by": override.operator,
    }
    if uncovered:
        metadata["override_does_not_cover"] = ", ".join(uncovered[:20])
        return dg.AssetCheckResult(
            check_name=result.check_name, asset_key=result.asset_key, passed=False,
            severity=result.severity, metadata=metadata, description=result.description,
        )
    # A check result yielded by its asset need not name it (the weather checks do not).
    check = f"{result.asset_key.to_user_string()}:{result.check_name}" if result.asset_key else result.check_name
    context.log.warning(
        f"{check} failed and is accepted by "
        f"{override.operator} for {override.describe_days()}: {override.reason}"
    )
    return dg.AssetCheckResult(
        check_name=result.check_name, asset_key=result.asset_key, passed=True,
        severity=result.severity, metadata={**metadata, "passed_with_override": True},
        description=f"passed with the operator's override ({override.reason})",
    )
