"""Champion and challenger through Dagster: four monthly fits of `risk_model` (a weak one, a strong
one, a weak one, one that fails a blocking check) on a synthetic feature store of 160 cells, and
`model_champion` deciding the 14 weeks from the first fit to the last; then a pin from the command
line, the champion's predictions, and what the published store and the API name."""

from dataclasses import replace
from datetime import date, timedelta
from typing import cast

import dagster as dg
import polars as pl
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.schemas import Meta
from chicago_risk.cli import main
from chicago_risk.config import ModelSettings
from chicago_risk.models import assets as model_assets
from chicago_risk.models import champion
from chicago_risk.models.aliases import alias_history, utc_now
from chicago_risk.models.assets import risk_model, risk_predictions
from chicago_risk.models.champion_asset import model_champion
from chicago_risk.models.model import FittedModel
from chicago_risk.models.registry import fits_up_to, load_model
from chicago_risk.models.shadow import ShadowWindow
from chicago_risk.partitions import partition_range_tags
from chicago_risk.publish.assets import PUBLISH_ASSETS, published_key
from chicago_risk.publish.layers import CHAMPION_DECISION, MODEL
from chicago_risk.publish.store import PublishedStore
from chicago_risk_tests.fixtures.api import make_app
from chicago_risk_tests.fixtures.map_layers import layer_resources
from chicago_risk_tests.fixtures.synthetic import quick_settings, synthetic_city

pytestmark = pytest.mark.slow

RESOLUTION = 7
WEAK, STRONG, FAILING = "weak", "strong", "failing"
# The first Monday of each month: each cutoff is a fit of its own (monthly refits, set below).
FITS = {date(2024, 3, 4): WEAK, date(2024, 4, 1): STRONG, date(2024, 5, 6): WEAK, date(2024, 6, 3): FAILING}
FIRST_WEEK, LAST_WEEK = min(FITS), max(FITS)


def _weak() -> ModelSettings:
    """One boosting round and an offset of the weather alone (no per-cell counts): a model that
    barely tells the cells apart, with a log loss worse by a fifth on shadow days."""
    settings = quick_settings(rounds=1, refit_months=1)
    lightgbm = replace(settings.training.lightgbm, offset_cell_features=())
    return replace(settings, training=replace(settings.training, lightgbm=lightgbm))


SETTINGS = {WEAK: _weak(), STRONG: quick_settings(rounds=40, refit_months=1), FAILING: _weak()}


def _materialize(assets, resources, instance, first: date, last: date, raise_on_error: bool = True):
    return dg.materialize(
        assets, resources=resources, instance=instance, tags=partition_range_tags(str(first), str(last)),
        raise_on_error=raise_on_error,
    )


def _decisions(warehouse) -> dict[date, dict]:
    return {r["cutoff"]: r for r in warehouse.read_table("model_champion").sort("cutoff").iter_rows(named=True)}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    root = tmp_path_factory.mktemp("champion")
    resources = layer_resources(root)
    warehouse = resources["warehouse"]
    features, labels, _truth = synthetic_city(
        days=530, resolution=RESOLUTION, base_rate=0.015, burst_sd=1.3, rain_effect=0.08
    )
    warehouse.replace_table("cell_day_features", features)
    warehouse.replace_table("cell_day_labels", labels)
    with dg.instance_for_test() as instance:
        fitted = {}
        for cutoff, kind in FITS.items():
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(model_assets, "SETTINGS", SETTINGS[kind])
                if kind == FAILING:  # `calibrated` (blocking) fails; the fit is stored all the same
                    patch.setattr(model_assets, "_CALIBRATED_MEAN_TOLERANCE", -1.0)
                fitted[cutoff] = _materialize([risk_model], resources, instance, cutoff, cutoff, raise_on_error=False)
        ids = dict(fits_up_to(warehouse, "lightgbm", LAST_WEEK).select("cutoff", "model_id").iter_rows())
        decided = _materialize([model_champion], resources, instance, FIRST_WEEK, LAST_WEEK)
        yield {"root": root, "resources": resources, "warehouse": warehouse, "instance": instance, "ids": ids,
               "fitted": fitted, "decided": decided}


def _rematerialize(city, first: date = LAST_WEEK, last: date = LAST_WEEK) -> dg.ExecuteInProcessResult:
    return _materialize([model_champion], city["resources"], city["instance"], first, last)


def _published_meta(city) -> tuple[Meta, dict]:
    published = {published_key(MODEL.table), published_key(CHAMPION_DECISION.table)}
    dg.materialize(
        [a for a in PUBLISH_ASSETS if a.key in published], resources=city["resources"], instance=city["instance"]
    )
    with TestClient(make_app(str(city["root"] / "published"))) as client:
        meta = Meta.model_validate(client.get("/api/meta").json())
        metrics = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    return meta, metrics


def test_the_fourth_fit_fails_a_blocking_check_and_is_stored_all_the_same(city):
    checks = {
        cutoff: {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
        for cutoff, result in city["fitted"].items()
    }
    assert checks == {
        date(2024, 3, 4): set(), date(2024, 4, 1): set(), date(2024, 5, 6): set(), LAST_WEEK: {"calibrated"}
    }
    assert sorted(city["ids"]) == sorted(FITS)


def test_each_week_is_decided_by_the_rule_on_its_shadow_days(city):
    ids, decided = city["ids"], _decisions(city["warehouse"])
    weak_march, strong_april, weak_may, failing_june = (ids[c] for c in FITS)
    summary = {week: (r["decision"], r["champion_model_id"], r["challenger_model_id"], r["shadow_days"])
               for week, r in decided.items()}
    weeks = [FIRST_WEEK + timedelta(weeks=n) for n in range(14)]
    assert list(summary) == weeks
    expected = {
        date(2024, 3, 4): ("first_champion", weak_march, None, None),
        date(2024, 3, 11): ("no_challenger", weak_march, None, None),
        # the April fit's shadow window opens on its cutoff; its first labels complete 8 days later
        date(2024, 4, 1): ("too_few_shadow_days", weak_march, strong_april, 0),
        date(2024, 4, 8): ("too_few_shadow_days", weak_march, strong_april, 0),
        date(2024, 4, 15): ("too_few_shadow_days", weak_march, strong_april, 7),
        date(2024, 4, 22): ("promoted", strong_april, None, 14),  # better on 14 shadow days
        date(2024, 4, 29): ("no_challenger", strong_april, None, None),
        date(2024, 5, 6): ("too_few_shadow_days", strong_april, weak_may, 0),
        date(2024, 5, 27): ("kept_worse_log_loss", strong_april, weak_may, 14),  # worse: kept out
        LAST_WEEK: ("challenger_failed_checks", strong_april, failing_june, 0),  # no evidence overrides a failed check
    }
    assert {week: summary[week] for week in expected} == expected
    promoted, kept = decided[date(2024, 4, 22)], decided[date(2024, 5, 27)]
    assert promoted["candidate_log_loss"] < promoted["incumbent_log_loss"]
    assert promoted["champion_since"] == date(2024, 4, 22)
    assert kept["candidate_log_loss"] > kept["incumbent_log_loss"] * 1.01
    assert kept["champion_since"] == date(2024, 4, 22)
    assert (kept["shadow_first_day"], kept["shadow_last_day"]) == (date(2024, 5, 6), date(2024, 5, 19))
    assert "log loss" in kept["reason"] and "calibrated" in decided[LAST_WEEK]["reason"]
    empty = decided[date(2024, 4, 1)]
    assert (empty["candidate_log_loss"], empty["shadow_event_rate"], empty["shadow_rows"]) == (None, None, 0)
    assert empty["reason"].startswith("0 of 14 labelled shadow days")


def test_shadow_scoring_predicts_each_day_once_per_model_and_scores_as_a_fresh_scoring(city, monkeypatch):
    """Week after week a pair is judged on a window one week longer: the decider predicts only the
    days a model has not scored, and its scores equal a fresh scoring of each week's window."""
    warehouse = city["warehouse"]
    predicted: list[tuple[str, date]] = []
    fresh_predict = FittedModel.predict_proba

    def counted(model: FittedModel, rows: pl.DataFrame):
        predicted.extend((model.model_id, day) for day in rows["day"].unique())
        return fresh_predict(model, rows)

    with monkeypatch.context() as patch:
        patch.setattr(FittedModel, "predict_proba", counted)
        weeks = [FIRST_WEEK + timedelta(weeks=n) for n in range(14)]
        decided, _ = champion.decide_weeks(warehouse, city["instance"], weeks, None, utc_now())
    judged = decided.filter(pl.col("candidate_model_id").is_not_null() & (pl.col("shadow_days") > 0))
    assert cast(int, judged["candidate_model_id"].value_counts()["count"].max()) >= 2  # a pair judged twice
    assert len(predicted) == len(set(predicted))  # no model predicted a day twice
    for row in judged.iter_rows(named=True):
        window = ShadowWindow.of(warehouse, row["shadow_first_day"], row["cutoff"])
        for side in ("candidate", "incumbent"):
            scores = window.scores(load_model(warehouse, row[f"{side}_model_id"]))
            assert scores is not None
            assert row[f"{side}_log_loss"] == pytest.approx(scores.log_loss, abs=1e-12)
            assert row[f"{side}_ece"] == pytest.approx(scores.ece, abs=1e-12)


def test_the_asset_warns_about_rejected_challengers_and_describes_the_newest_week(city):
    result = city["decided"]
    check = result.get_asset_check_evaluations()[0]
    assert (check.check_name, check.passed, check.severity) == (
        "challenger_not_rejected", False, dg.AssetCheckSeverity.WARN
    )
    assert [line.split(":")[0] for line in check.metadata["rejected"].value] == ["2024-05-27", "2024-06-03"]
    metadata = result.get_asset_materialization_events()[-1].materialization.metadata
    assert metadata["champion"].value == city["ids"][date(2024, 4, 1)]
    assert metadata["decision"].value == "challenger_failed_checks"


def test_the_alias_log_records_each_change_once_and_a_rerun_adds_nothing(city):
    warehouse, ids = city["warehouse"], city["ids"]
    log = alias_history(warehouse).filter(pl.col("set_by") == "rule")
    assert log.select("alias", "model_id", "effective_from").rows()[:6] == [
        ("champion", ids[date(2024, 3, 4)], date(2024, 3, 4)),
        ("challenger", ids[date(2024, 4, 1)], date(2024, 4, 1)),
        ("champion", ids[date(2024, 4, 1)], date(2024, 4, 22)),
        ("challenger", None, date(2024, 4, 22)),
        ("challenger", ids[date(2024, 5, 6)], date(2024, 5, 6)),
        ("challenger", ids[LAST_WEEK], LAST_WEEK),
    ]
    before_log = alias_history(warehouse)
    before = warehouse.read_table("model_champion").drop("decided_at").sort("cutoff")
    _rematerialize(city, FIRST_WEEK, LAST_WEEK)  # the whole range
    _rematerialize(city, date(2024, 4, 22), date(2024, 4, 22))  # one week of it
    assert alias_history(warehouse).equals(before_log)
    assert warehouse.read_table("model_champion").drop("decided_at").sort("cutoff").equals(before)


def test_predictions_are_scored_by_the_champion_of_their_week(city):
    # the last day of the weak champion, the first of the strong
    sunday, monday = date(2024, 4, 21), date(2024, 4, 22)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_assets, "SETTINGS", quick_settings())
        result = _materialize([risk_predictions], city["resources"], city["instance"], sunday, monday)
    # the step reports progress per champion (at most every few seconds, and at the end)
    progress = [e.message for e in city["instance"].all_logs(result.run_id) if e.message.startswith("progress:")]
    assert progress[-1].startswith(f"progress: days scored 2/2 ({city['ids'][date(2024, 4, 1)]} on {monday}..")
    served = city["warehouse"].read_table("risk_predictions").group_by("day").agg(
        pl.col("model_id").unique(), pl.col("model_cutoff").unique()
    ).sort("day")
    assert served.rows() == [
        (sunday, [city["ids"][date(2024, 3, 4)]], [date(2024, 3, 4)]),
        (monday, [city["ids"][date(2024, 4, 1)]], [date(2024, 4, 1)]),
    ]


def test_an_undecided_week_cannot_be_scored_and_says_what_to_run(city):
    day = LAST_WEEK + timedelta(days=7)
    result = _materialize([risk_predictions], city["resources"], city["instance"], day, day, raise_on_error=False)
    error = result.get_step_failure_events()[0].event_specific_data.error
    message = error.cause.message if error.cause else error.message
    command = f"run: chicago-risk materialize --start {day} --end {day + timedelta(days=6)} --select model_champion"
    assert command in message


def test_the_api_names_the_champion_and_the_challenger_from_the_published_store(city):
    ids = city["ids"]
    meta, metrics = _published_meta(city)
    models = meta.models
    assert models is not None
    assert models.week == LAST_WEEK and models.decision == "challenger_failed_checks"
    assert (models.champion.model_id, models.champion.cutoff, models.champion.since) == (
        ids[date(2024, 4, 1)], date(2024, 4, 1), date(2024, 4, 22)
    )
    assert (models.champion.pinned, models.champion.set_by) == (False, "rule")
    assert models.challenger is not None
    assert (models.challenger.model_id, models.challenger.cutoff) == (ids[LAST_WEEK], LAST_WEEK)
    assert models.shadow is not None and models.shadow.days == 0 and models.shadow.incumbent.log_loss is None
    aliases = {s.labels["alias"]: s.labels["model_id"] for s in metrics["chicago_risk_model_alias_info"].samples}
    assert aliases == {"champion": ids[date(2024, 4, 1)], "challenger": ids[LAST_WEEK]}
    assert metrics["chicago_risk_model_champion_pinned"].samples[0].value == 0
    registry = PublishedStore(str(city["root"] / "published")).read_layer("model_registry")
    assert registry.select("alias", "model_id").rows() == [
        ("champion", ids[date(2024, 4, 1)]), ("challenger", ids[LAST_WEEK])
    ]


def test_an_operator_pin_overrides_the_rule_until_unpinned_and_is_visible(city, monkeypatch, capsys):
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(city["root"]))
    monkeypatch.setattr("getpass.getuser", lambda: "ops-anna")
    warehouse, ids = city["warehouse"], city["ids"]
    weak_may = ids[date(2024, 5, 6)]
    pin = ["model", "pin", weak_may, "--reason", "April's model misreads the thaw", "--from", str(LAST_WEEK)]
    assert main(pin) == 0
    out = capsys.readouterr().out
    assert f"run: chicago-risk materialize --start {LAST_WEEK} --end " in out and "--select model_champion" in out
    assert _decisions(warehouse)[LAST_WEEK]["pinned"] is False  # recorded; it takes effect when the week is decided

    _rematerialize(city)
    week = _decisions(warehouse)[LAST_WEEK]
    assert (week["decision"], week["champion_model_id"], week["pinned"], week["set_by"]) == (
        "pinned", weak_may, True, "ops-anna"
    )
    assert week["challenger_model_id"] == ids[LAST_WEEK]
    assert "April's model misreads the thaw" in week["reason"]
    assert "the rule would say challenger_failed_checks" in week["reason"]
    meta, metrics = _published_meta(city)
    assert meta.models is not None
    served = meta.models.champion
    assert (served.model_id, served.pinned, served.set_by) == (weak_may, True, "ops-anna")
    assert metrics["chicago_risk_model_champion_pinned"].samples[0].value == 1
    assert main(["model", "aliases"]) == 0
    assert f"champion {weak_may}" in capsys.readouterr().out

    assert main(["model", "unpin", "--reason", "thaw is over", "--from", str(LAST_WEEK)]) == 0
    _rematerialize(city)
    week = _decisions(warehouse)[LAST_WEEK]
    assert (week["decision"], week["champion_model_id"], week["pinned"]) == (
        "challenger_failed_checks", ids[date(2024, 4, 1)], False
    )
    log = alias_history(warehouse).filter(pl.col("set_by") == "ops-anna")
    assert log.select("alias", "model_id").rows() == [("pin", weak_may), ("champion", weak_may), ("pin", None)]


@pytest.mark.parametrize("args, message", [
    (
        ["model", "pin", "lightgbm-20240101-0000000000", "--reason", "x", "--from", "2024-06-03"],
        "is not a stored lightgbm model",
    ),
    # the June fit was stored on June 3: it cannot serve the week before
    (["model", "pin", "{june}", "--reason", "x", "--from", "2024-05-27"], "with a cutoff on or before 2024-05-27"),
    (["model", "pin", "{june}", "--reason", "x", "--from", "2024-06-04"], "not 2024-06-04 (a Tuesday)"),
    (["model", "unpin", "--reason", "  ", "--from", "2024-06-03"], "a pin needs a reason"),
])
def test_a_pin_that_cannot_be_honoured_is_refused_with_the_reason(city, monkeypatch, capsys, args, message):
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(city["root"]))
    before = alias_history(city["warehouse"]).height
    assert main([a.format(june=city["ids"][LAST_WEEK]) for a in args]) == 2
    assert message in capsys.readouterr().err
    assert alias_history(city["warehouse"]).height == before


def test_a_pinned_model_on_changed_feature_definitions_stops_the_decision_with_the_fix(city, monkeypatch):
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(city["root"]))
    assert main(["model", "pin", city["ids"][date(2024, 4, 1)], "--reason", "x", "--from", str(LAST_WEEK)]) == 0
    try:
        with monkeypatch.context() as patch:  # the feature registry changed after the pin
            patch.setattr(champion, "registry_hash", lambda: "changed")
            result = _materialize(
                [model_champion], city["resources"], city["instance"], LAST_WEEK, LAST_WEEK, raise_on_error=False
            )
        error = result.get_step_failure_events()[0].event_specific_data.error
        message = error.cause.message if error.cause else error.message
        assert "was trained on other feature definitions" in message and "chicago-risk model unpin" in message
    finally:
        assert main(["model", "unpin", "--reason", "test over", "--from", str(LAST_WEEK)]) == 0
