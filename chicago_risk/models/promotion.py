"""The promotion rule: does the challenger replace the champion this week?

Given the champion and the challenger (two fits of the served kind, the challenger the newer) and
their shadow scores on the same rows (`chicago_risk.models.shadow`), in this order:

1. a blocking check of the `risk_model` run that stored the challenger failed: kept;
2. fewer than `min_shadow_days` labelled shadow days: kept, the challenger waits;
3. challenger log loss > champion log loss x (1 + `log_loss_tolerance`): kept;
4. challenger ECE > max(`ece_target`, champion ECE + `ece_slack`): kept;
5. otherwise promoted.

What comes before the rule (a pin, no champion yet, a champion on stale features) is decided by
`chicago_risk.models.champion`. The numbers are in `chicago_risk.config.ChampionSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chicago_risk.config import ChampionSettings
from chicago_risk.models.shadow import ShadowScores

# Every decision a week can record, and what it means.
DECISIONS: dict[str, str] = {
    "first_champion": "no champion yet: the newest servable model became champion",
    "champion_stale_features": "the champion's feature definitions changed: the newest servable model replaced it",
    "pinned": "an operator's pin decides the champion",
    "no_challenger": "the champion is the newest fit",
    "challenger_failed_checks": "a blocking check of the challenger's risk_model run failed",
    "too_few_shadow_days": "the challenger has too few labelled shadow days yet",
    "kept_worse_log_loss": "the challenger's shadow log loss is worse than the champion's by more than the margin",
    "kept_ece": "the challenger's shadow ECE is above its bound",
    "promoted": "the challenger passed the rule and became champion",
}
# Decisions that keep a challenger out on its merits (the model_champion asset warns about them).
REJECTED = ("challenger_failed_checks", "kept_worse_log_loss", "kept_ece")


@dataclass(frozen=True)
class Verdict:
    decision: str  # a key of DECISIONS
    reason: str  # the decision in words, with the numbers behind it

    @property
    def promotes(self) -> bool:
        return self.decision == "promoted"


def judge(
    champion: ShadowScores | None,
    challenger: ShadowScores | None,
    shadow_days: int,
    failed_checks: tuple[str, ...],
    settings: ChampionSettings,
    ece_target: float,
) -> Verdict:
    """The rule on one pair of shadow scores (None: no labelled shadow row yet)."""
    if failed_checks:
        return Verdict(
            "challenger_failed_checks", f"blocking check(s) failed in its risk_model run: {', '.join(failed_checks)}"
        )
    if champion is None or challenger is None or shadow_days < settings.min_shadow_days:
        return Verdict(
            "too_few_shadow_days",
            f"{shadow_days} of {settings.min_shadow_days} labelled shadow days: stays challenger until it has them",
        )
    log_loss_bound = champion.log_loss * (1 + settings.log_loss_tolerance)
    if challenger.log_loss > log_loss_bound:
        return Verdict(
            "kept_worse_log_loss",
            f"log loss {challenger.log_loss:.5f} > {log_loss_bound:.5f} (champion {champion.log_loss:.5f} "
            f"+ {settings.log_loss_tolerance:.1%}) on {shadow_days} shadow days",
        )
    ece_bound = max(ece_target, champion.ece + settings.ece_slack)
    if challenger.ece > ece_bound:
        return Verdict(
            "kept_ece",
            f"ECE {challenger.ece:.4f} > {ece_bound:.4f} (max of the target {ece_target} and the champion's "
            f"{champion.ece:.4f} + {settings.ece_slack}) on {shadow_days} shadow days",
        )
    return Verdict(
        "promoted",
        f"log loss {challenger.log_loss:.5f} vs champion {champion.log_loss:.5f}, ECE {challenger.ece:.4f} "
        f"(bound {ece_bound:.4f}) on {shadow_days} shadow days",
    )
