"""The night pressure step: hand-computed windows and savings, and the floor under any inputs."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chicago_risk.config.cost import COST_SETTINGS, PressureSettings
from chicago_risk.cost.costs import class_costs
from chicago_risk.cost.pressure import LEAK_SURVEY, PRESSURE_STEP, choose_steps, night_pressure, step_options

PRESSURE = COST_SETTINGS.pressure


def test_burst_exponent_reproduces_the_112_schemes():
    assert (1 - 0.37) ** PRESSURE.burst_exponent == pytest.approx(1 - 0.53)


def test_night_pressure_and_windows_by_hand():
    # 65 psi static, 30 psi of friction at peak demand x demand^1.852 (22:00 demand 0.55).
    pressure = night_pressure(np.array([0, 2]), PRESSURE)
    assert pressure[0, 0] == pytest.approx(65 - 30 * 0.55**1.852)
    assert pressure[1, 0] == pytest.approx(65 - 30 * 0.55**1.852 - 2 * 5)
    options = step_options(pressure, PRESSURE)
    steps = list(PRESSURE.steps_psi)
    # No complaints: 20 psi holds all night (22:00 is the tightest hour: 55.1 - 20 >= 35),
    # 25 psi only 00:00-05:00, 30 psi never.
    assert options.hours[0, steps.index(20.0)] == 8 and options.start[0, steps.index(20.0)] == 0
    assert options.hours[0, steps.index(25.0)] == 5 and options.start[0, steps.index(25.0)] == 2
    assert options.hours[0, steps.index(30.0)] == 0
    assert options.min_pressure[0, steps.index(20.0)] == pytest.approx(65 - 30 * 0.55**1.852 - 20)


def test_savings_of_the_chosen_step_by_hand():
    incidents = np.array([[0.0, 0.0, 1.0]])  # one expected major incident of a pressure-sensitive group
    choice = choose_steps(np.array([0]), incidents, COST_SETTINGS)
    assert choice.action_type[0] == PRESSURE_STEP and choice.delta_p_psi[0] == 20.0
    assert choice.time_window[0] == "22:00-06:00" and choice.window_hours[0] == 8
    pressure = night_pressure(np.array([0]), PRESSURE)[0]
    ratio = (pressure - 20) / pressure
    leak = 1 - sum(1 - ratio) / 24  # N1 = 1
    burst = 1 - sum(1 - ratio**PRESSURE.burst_exponent) / 24
    water, energy, repair = (cost[2] for cost in class_costs(COST_SETTINGS))
    assert choice.water_usd[0] == pytest.approx(water * (1 - burst * leak))
    assert choice.energy_usd[0] == pytest.approx(energy * (1 - burst * leak))
    assert choice.repair_usd[0] == pytest.approx(repair * (1 - burst))
    assert choice.savings_usd[0] == pytest.approx(choice.savings_per_incident[0, 2])


def test_complaints_shrink_the_step_then_send_a_survey():
    incidents = np.tile([[0.5, 0.2, 0.05]], (4, 1))
    choice = choose_steps(np.array([0, 1, 3, 6]), incidents, COST_SETTINGS)
    assert choice.delta_p_psi.tolist() == [20.0, 15.0, 10.0, 0.0]
    assert choice.action_type.tolist() == [PRESSURE_STEP] * 3 + [LEAK_SURVEY]
    assert choice.time_window[3] is None and choice.savings_usd[3] == 0
    assert np.all(choice.min_pressure_psi[:3] >= PRESSURE.floor_psi)


hydraulics = st.builds(
    lambda static, headloss, floor, steps, exponent: dataclasses.replace(
        PRESSURE, static_pressure_psi=static, peak_headloss_psi=headloss, floor_psi=min(floor, static - 1),
        steps_psi=tuple(sorted(set(steps))), leak_exponent_n1=exponent,
    ),
    static=st.floats(40, 100), headloss=st.floats(0, 40), floor=st.floats(20, 40),
    steps=st.lists(st.floats(1, 40).map(lambda x: round(x, 1)), min_size=1, max_size=6), exponent=st.floats(0.5, 2.5),
)


@settings(max_examples=80, deadline=None)
@given(pressure_settings=hydraulics, complaints=st.lists(st.integers(0, 8), min_size=1, max_size=12),
       data=st.data())
def test_a_larger_step_never_breaks_the_floor(pressure_settings: PressureSettings, complaints, data):
    costs = dataclasses.replace(COST_SETTINGS, pressure=pressure_settings)
    pressure = night_pressure(np.array(complaints), pressure_settings)
    options = step_options(pressure, pressure_settings)
    allowed = options.hours > 0
    assert np.all(options.min_pressure[allowed] >= pressure_settings.floor_psi - 1e-9)
    # every hour of a window keeps the floor, and a larger step never gets a longer window
    assert np.all(np.diff(options.hours, axis=1) <= 0)
    assert np.all((options.leak_factor <= 1 + 1e-12) & (options.burst_factor <= 1 + 1e-12))
    incidents = np.array(data.draw(st.lists(st.lists(st.floats(0, 5), min_size=3, max_size=3),
                                            min_size=len(complaints), max_size=len(complaints))))
    choice = choose_steps(np.array(complaints), incidents, costs)
    stepping = choice.action_type == PRESSURE_STEP
    assert np.all(choice.min_pressure_psi[stepping] >= pressure_settings.floor_psi - 1e-9)
    assert np.all(choice.delta_p_psi[~stepping] == 0)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.lists(st.floats(0, 10), min_size=3, max_size=3), st.floats(0, 1), st.integers(0, 6)),
        min_size=1, max_size=10,
    ),
    exponent=st.floats(0.5, 2.5),
)
def test_savings_never_exceed_the_expected_loss(rows, exponent):
    costs = dataclasses.replace(COST_SETTINGS, pressure=dataclasses.replace(PRESSURE, leak_exponent_n1=exponent))
    incidents = np.array([r[0] for r in rows])
    pressure_incidents = incidents * np.array([r[1] for r in rows])[:, None]
    choice = choose_steps(np.array([r[2] for r in rows]), pressure_incidents, costs)
    water, energy, repair = class_costs(costs)
    loss = incidents @ (water + energy + repair)
    assert np.all(choice.savings_usd >= 0)
    assert np.all(choice.savings_usd <= loss + 1e-9)
    assert np.all(choice.water_usd <= incidents @ water + 1e-9)
    assert np.all(choice.repair_usd <= incidents @ repair + 1e-9)
    assert np.all(choice.savings_per_incident <= (water + energy + repair)[None, :] + 1e-9)
