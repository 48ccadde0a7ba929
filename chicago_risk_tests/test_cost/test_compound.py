"""The compound 7-day cost: hand-computed cases, a seeded Monte Carlo, and properties."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chicago_risk.config.cost import COST_SETTINGS
from chicago_risk.cost.compound import compound, count_vectors
from chicago_risk.cost.costs import class_costs, cost_layer_frame

VALUES = np.array([100.0, 1_000.0])


def one(p, expected, probs, values=VALUES, level=0.9):
    result = compound(np.array([p]), np.array([expected]), np.array([probs]), values, level)
    return {name: float(getattr(result, name)[0]) for name in ("mean", "variance", "quantile", "tail_mean")}


def test_at_most_one_incident_by_hand():
    # p = lambda = 0.5: no incident 0.5, one of 100 w.p. 0.4, one of 1,000 w.p. 0.1.
    result = one(0.5, 0.5, [0.8, 0.2])
    assert result["mean"] == pytest.approx(0.4 * 100 + 0.1 * 1_000)
    assert result["quantile"] == 100  # F(100) = 0.9 exactly: the 90th percentile is below the mean
    assert result["tail_mean"] == pytest.approx(1_000)  # the worst 10% of weeks are the 1,000 ones
    assert result["variance"] == pytest.approx(0.4 * 100**2 + 0.1 * 1_000**2 - 140**2)


def test_hurdle_count_by_hand():
    # One category of cost 1: S is the count. P(N=0) = 0.6; given N >= 1, N = 1 + Poisson(0.5).
    result = one(0.4, 0.6, [1.0], values=np.array([1.0]))
    p_at_most_1 = 0.6 + 0.4 * math.exp(-0.5)
    p_at_most_2 = p_at_most_1 + 0.4 * 0.5 * math.exp(-0.5)
    assert p_at_most_1 < 0.9 <= p_at_most_2
    assert result["quantile"] == 2 and result["mean"] == pytest.approx(0.6)
    tail = (0.6 - 0.4 * math.exp(-0.5) - 2 * 0.4 * 0.5 * math.exp(-0.5) + 2 * (p_at_most_2 - 0.9)) / 0.1
    assert result["tail_mean"] == pytest.approx(tail)


def test_a_week_without_incidents_is_the_p90_of_a_quiet_cell():
    result = one(0.08, 0.09, [0.5, 0.5])
    assert result["quantile"] == 0
    assert result["tail_mean"] == pytest.approx(result["mean"] / 0.1)


def test_count_vectors_are_every_atom_up_to_the_bound():
    atoms = count_vectors(3, np.array([100.0, 1_000.0]), 1_150.0)
    assert sorted(map(tuple, atoms.tolist())) == [(0, 1), (1, 0), (1, 1), (2, 0), (3, 0)]


def test_exact_quantile_agrees_with_a_seeded_monte_carlo():
    rng = np.random.default_rng(20240601)
    values = np.array(sum(class_costs(COST_SETTINGS)))
    cases = [(0.3, 0.6, [0.7, 0.25, 0.05]), (0.95, 6.0, [0.6, 0.3, 0.1]), (0.15, 0.16, [0.62, 0.3, 0.08])]
    draws = 200_000
    for p, expected, q in cases:
        extra = rng.poisson(expected / p - 1, draws)
        n = np.where(rng.random(draws) < p, 1 + extra, 0)
        costs = rng.multinomial(n, q) @ values
        exact = one(p, expected, q, values)
        simulated = np.quantile(costs, 0.9, method="inverted_cdf")
        # a discrete distribution: the simulated quantile is the exact atom unless F is within
        # sampling error of 0.9 there
        assert exact["quantile"] == simulated
        assert exact["mean"] == pytest.approx(costs.mean(), rel=0.02)
        assert exact["tail_mean"] == pytest.approx(np.sort(costs)[-draws // 10 :].mean(), rel=0.03)


def test_per_row_values_give_the_same_as_shared_ones():
    rng = np.random.default_rng(1)
    p, expected = rng.uniform(0.2, 0.99, 50), rng.uniform(1, 4, 50)
    probs = rng.dirichlet([6, 3, 1], 50)
    values = np.array([500.0, 2_600.0, 10_500.0])
    shared = compound(p, np.maximum(expected, p), probs, values, 0.9)
    per_row = compound(p, np.maximum(expected, p), probs, np.tile(values, (50, 1)), 0.9)
    assert np.array_equal(shared.quantile, per_row.quantile)
    assert np.allclose(shared.tail_mean, per_row.tail_mean)


def _cost_rows(p, expected, q):
    """cost_layer_frame on one-cell rows with the given risk and class mix."""
    rows = len(p)
    day = pl.date(2024, 6, 3)
    predictions = pl.DataFrame(
        {"h3_id": [f"cell{i}" for i in range(rows)], "p_event_7d": p, "expected_events": expected}
    ).with_columns(day=day, severity_as_of=day, risk_band=pl.lit("high"), model_id=pl.lit("m"))
    names = COST_SETTINGS.class_names
    probabilities = pl.DataFrame(
        {"h3_id": predictions["h3_id"], **{f"q_{n}": [q[i]] * rows for i, n in enumerate(names)},
         **{f"qp_{n}": [q[i] / 2] * rows for i, n in enumerate(names)}}
    ).with_columns(as_of=day)
    low_pressure = predictions.select("day", "h3_id", low_pressure_reports=pl.lit(0, pl.Int32))
    return cost_layer_frame(predictions, probabilities, low_pressure, COST_SETTINGS)


def test_cost_of_a_minor_incident_by_hand():
    # 25 m3 at $0.31 and (0.30 + 60 psi * 6894.757 / 0.7 / 3.6e6) kWh/m3 at $0.10, plus $500.
    energy_kwh = 0.30 + 60 * 6_894.757 / 0.7 / 3.6e6
    assert energy_kwh == pytest.approx(0.464, abs=1e-3)
    row = _cost_rows([0.5], [0.5], [1.0, 0.0, 0.0]).row(0, named=True)
    assert row["cost_water_usd_mean"] == pytest.approx(0.5 * 25 * 0.31)
    assert row["cost_energy_usd_mean"] == pytest.approx(0.5 * 25 * energy_kwh * 0.10)
    assert row["cost_repair_usd_mean"] == pytest.approx(0.5 * 500)
    assert row["leak_volume_m3_mean"] == pytest.approx(12.5)
    assert row["expected_cost_usd_7d"] == pytest.approx(0.5 * (25 * 0.31 + 25 * energy_kwh * 0.10 + 500))
    assert row["p90_cost"] == pytest.approx(25 * 0.31 + 25 * energy_kwh * 0.10 + 500)  # F(one incident) = 1
    assert row["expected_incidents"] == {"minor": 0.5, "moderate": 0.0, "major": 0.0}


def test_cost_quantile_ranks_the_day_cells():
    frame = _cost_rows([0.1, 0.3, 0.2, 0.3], [0.1, 0.3, 0.2, 0.3], [0.7, 0.25, 0.05])
    assert frame.sort("h3_id")["cost_quantile"].to_list() == [0.25, 1.0, 0.5, 1.0]


risk = st.floats(0.001, 0.999)
mix = st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3).map(lambda w: [x / sum(w) for x in w])


@settings(max_examples=60, deadline=None)
@given(p=risk, extra=st.floats(0, 3), more_p=st.floats(0, 0.5), more_extra=st.floats(0, 3), q=mix)
def test_more_risk_never_lowers_the_expected_cost(p, extra, more_p, more_extra, q):
    higher_p = min(p + more_p, 0.999)
    expected = p * (1 + extra)
    higher = max(higher_p * (1 + extra + more_extra), expected)  # more expected incidents, never fewer
    frame = _cost_rows([p, higher_p], [expected, higher], q).sort("h3_id")
    low, high = frame.row(0, named=True), frame.row(1, named=True)
    for column in ("expected_cost_usd_7d", "cost_water_usd_mean", "cost_energy_usd_mean", "cost_repair_usd_mean"):
        assert high[column] >= low[column] - 1e-9
    # With the incidents beyond the first also no fewer, the count is stochastically larger,
    # so the p90 cannot fall either.
    if higher / higher_p >= expected / p:
        assert high["p90_cost"] >= low["p90_cost"]
    assert low["tail_cost_usd_7d"] >= max(low["expected_cost_usd_7d"], low["p90_cost"]) - 1e-6
