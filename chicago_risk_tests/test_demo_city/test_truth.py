"""The demo city's truth: the intensity it simulated and the best possible 7-day forecast."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

import h3
import numpy as np
import polars as pl
import pytest

from chicago_risk.config import HEAVY_RAIN_MM
from chicago_risk.demo_city import params as P
from chicago_risk.demo_city import simulate
from chicago_risk.grid import city_cells


@pytest.fixture(scope="module")
def labelled(demo_year) -> pl.DataFrame:
    """The truth of 2019 joined with whether the cell had a first report on t+1..t+7."""
    firsts = (
        demo_year.requests.filter(~pl.col("duplicate"))
        .with_columns(
            lat=pl.col("latitude").cast(pl.Float64, strict=False),
            lon=pl.col("longitude").cast(pl.Float64, strict=False),
        )
        .drop_nulls(["lat", "lon", "day"])
    )
    firsts = firsts.with_columns(
        h3_id=pl.Series([h3.latlng_to_cell(a, b, 9) for a, b in zip(firsts["lat"], firsts["lon"], strict=True)])
    )
    incident_days = firsts.select("h3_id", "day").unique()
    # (cell, t) has an event if some incident day falls on t+1..t+7.
    windows = pl.concat(
        [incident_days.with_columns(day=pl.col("day") - timedelta(days=k)) for k in range(1, 8)]
    ).unique()
    return demo_year.truth.join(
        windows.with_columns(event=pl.lit(True)), on=["h3_id", "day"], how="left"
    ).with_columns(pl.col("event").fill_null(False))


def test_one_row_per_cell_per_day(demo_year) -> None:
    truth = demo_year.truth
    assert truth.schema == pl.Schema(
        {"h3_id": pl.String, "day": pl.Date, "mu": pl.Float64, "p_oracle_7d": pl.Float64}
    )
    cells = city_cells(9)
    assert truth.height == 365 * len(cells)
    assert truth.select("day", "h3_id").is_duplicated().sum() == 0
    assert truth.equals(truth.sort("day", "h3_id"))
    assert truth.filter(pl.col("day") == date(2019, 5, 1))["h3_id"].to_list() == list(cells)
    assert (truth["mu"] > 0).all()
    assert ((truth["p_oracle_7d"] >= 0) & (truth["p_oracle_7d"] < 1)).all()


def test_mu_adds_up_to_the_incidents(demo_year) -> None:
    firsts = demo_year.year_requests.filter(~pl.col("duplicate"))
    assert demo_year.truth["mu"].sum() == pytest.approx(firsts.height, rel=0.03)


def test_the_oracle_is_calibrated(labelled) -> None:
    # The oracle leaves out the excitation of incidents inside the week, so it may sit slightly low.
    assert abs(labelled["p_oracle_7d"].mean() - labelled["event"].mean()) <= 0.02


def test_higher_oracle_deciles_have_more_incidents(labelled) -> None:
    deciles = (
        labelled.with_columns(
            decile=(pl.col("p_oracle_7d").rank("ordinal") * 10 / pl.len()).floor().clip(0, 9)
        )
        .group_by("decile")
        .agg(p=pl.col("p_oracle_7d").mean(), observed=pl.col("event").mean())
        .sort("decile")
    )
    assert (np.diff(deciles["observed"].to_numpy()) > 0).all()
    assert deciles["observed"][-1] > 5 * deciles["observed"][0]
    np.testing.assert_allclose(deciles["observed"], deciles["p"], rtol=0.2)


def test_risk_is_concentrated_in_some_cells(demo_year) -> None:
    per_cell = demo_year.truth.group_by("h3_id").agg(pl.col("mu").sum())["mu"].sort(
        descending=True
    )
    top = per_cell.head(len(per_cell) // 20)
    assert top.mean() >= 3 * per_cell.mean()


def test_the_oracle_sees_storms_coming_and_their_aftermath(demo_year, labelled) -> None:
    """The base intensity holds the coming week's storms and the flood backlog of past ones (both
    weather, known ex ante), so the oracle rises before a storm and stays up after it, and stays
    calibrated there; it leaves out only what the week's own incidents excite (slightly low)."""
    storm_days = demo_year.weather.filter(pl.col("precip_mm") >= HEAVY_RAIN_MM)["day"]
    assert storm_days.len() >= 3
    days = demo_year.truth.select(pl.col("day").unique())
    lags = [pl.col("day") + timedelta(days=k) for k in range(-6, 8)]
    flagged = days.with_columns(
        ahead=pl.any_horizontal(lag.is_in(storm_days.implode()) for lag in lags[7:]),
        after=pl.any_horizontal(lag.is_in(storm_days.implode()) for lag in lags[:7]),
    )
    windows = labelled.join(flagged, on="day")
    quiet = windows.filter(~pl.col("ahead") & ~pl.col("after"))["p_oracle_7d"].mean()
    for name, window in (
        ("storm ahead", pl.col("ahead")),
        ("after a storm", pl.col("after") & ~pl.col("ahead")),
    ):
        rows = windows.filter(window)
        p, observed = rows["p_oracle_7d"].mean(), rows["event"].mean()
        assert -0.03 <= p - observed <= 0.01, (name, p, observed)
        assert p >= 1.3 * quiet, (name, p, quiet)


def test_the_oracle_knows_no_incident_of_its_week(demo_year, monkeypatch) -> None:
    """The oracle made at the end of day t is the same whatever happens on t+1..t+7: here the
    week holds a storm, and its incidents are drawn again from other streams."""
    storm = demo_year.weather.filter(pl.col("precip_mm") >= HEAVY_RAIN_MM)["day"][0]
    t, seed, resolution = storm - timedelta(days=1), demo_year.source.seed, 7
    draw = simulate.poisson_by_inversion

    def other_draws_after_t(rng: np.random.Generator, lam: np.ndarray):
        seed_seq = cast(np.random.SeedSequence, rng.bit_generator.seed_seq)  # what default_rng made
        entropy = cast(list[int], seed_seq.entropy)  # [seed, day ordinal, stream]
        if entropy[1] > P.SIM_START.toordinal() + (t - P.SIM_START).days:
            rng = np.random.default_rng([*entropy, 1])
        return draw(rng, lam)

    def simulated() -> tuple[pl.DataFrame, pl.DataFrame]:
        monkeypatch.setattr(simulate, "_CACHE", {})  # its own cache: the shared one stays
        truth = simulate.truth_frame(seed, resolution, t, t)
        sim = simulate.simulation(seed, resolution, t)
        week = (sim.incident_day > sim.index(t)) & (sim.incident_day <= sim.index(t) + 7)
        return truth, pl.DataFrame({"cell": sim.incident_cell[week], "day": sim.incident_day[week]})

    truth, week = simulated()
    monkeypatch.setattr(simulate, "poisson_by_inversion", other_draws_after_t)
    other_truth, other_week = simulated()
    assert week.height >= 100 and not week.equals(other_week)
    assert truth.equals(other_truth)
