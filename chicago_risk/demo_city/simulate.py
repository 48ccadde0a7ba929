"""Incidents as a discrete, spatial Hawkes process, and the truth the demo city knows.

Per type t, cell c and day d (a step per day, vectorised over cells x types):
    lambda(c, d, t) = b(c, d, t) + E_{d-1}(c, t)
    C_d(c, t) ~ Poisson(lambda)
    E_d = beta * E_{d-1} + alpha_self * C_d + alpha_nbr * A @ C_d
    B_d = FLOOD_BACKLOG_DECAY * B_{d-1} + max(S_d - BACKLOG_FREE_SURPLUS, 0)
with b the base intensity (intensity.py: the weather of the day, the storm's pattern over the city
and the flood backlog B of earlier days' storms; all weather, none of it from incidents) and A the
ring-1 adjacency: an incident adds alpha*beta**(d-s-1) to its cell's and its neighbours' intensity
on later days d > s.

Per-day random streams (np.random.default_rng([seed, day ordinal, stream])) make a day's incidents
depend only on the seed and the days before it, never on the window asked for. The simulation runs
from SIM_START (a burn-in before config.DATA_START) and is cached per (seed, resolution); asking
for a later day extends it from the saved state in blocks of SIM_BLOCK_DAYS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
import scipy.sparse as sp

from chicago_risk.demo_city import params as P
from chicago_risk.demo_city.fields import CityFields, city_fields, storm_patterns
from chicago_risk.demo_city.intensity import Drivers, Intensity, backlog_inflow, drivers, intensity
from chicago_risk.demo_city.weather import check_window, simulate_weather


@dataclass(frozen=True)
class Simulation:
    """The simulated incidents and intensities from SIM_START for n_days days."""

    seed: int
    resolution: int
    n_days: int
    # One entry per (day, cell, type) with at least one incident; `count` incidents there.
    incident_day: np.ndarray  # int32, day index from SIM_START
    incident_cell: np.ndarray  # int32, index into grid.city_cells
    incident_type: np.ndarray  # int16, index into config.LEAK_TYPES
    incident_count: np.ndarray  # int32
    base_total: np.ndarray  # (n_days x cells) sum over types of b(c, d, t)
    excitation_total: np.ndarray  # (n_days x cells) sum over types of E_d, after day d's incidents
    excitation_state: np.ndarray  # (cells x types) E on the last simulated day
    excitation_sum_state: np.ndarray  # (cells,) its sum over types, carried (not re-summed) so
    # that an extended simulation is bit-for-bit the one run in one go
    backlog_state: np.ndarray  # (cells,) the flood backlog B on the last simulated day

    @property
    def start(self) -> date:
        return P.SIM_START

    @property
    def last_day(self) -> date:
        return P.SIM_START + timedelta(days=self.n_days - 1)

    def index(self, day: date) -> int:
        return (day - P.SIM_START).days


def poisson_by_inversion(
    rng: np.random.Generator, lam: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson(lam) draws, returned sparsely as (flat indices, counts) of the non-zero ones.

    One uniform per entry; since P(0) = exp(-lam) >= 1 - lam, only entries with u > 1 - lam can be
    non-zero, and those few are inverted exactly (a loop over count levels, vectorised over the
    candidates). About 4x faster than Generator.poisson when nearly every lam is small.
    """
    u = rng.random(lam.size)
    flat_lam = lam.ravel()
    candidates = np.flatnonzero(u > 1.0 - flat_lam)
    u, rate = u[candidates], flat_lam[candidates]
    prob = np.exp(-rate)
    cdf = prob.copy()
    count = np.zeros(candidates.size, dtype=np.int32)
    pending = np.flatnonzero(u > cdf)
    level = 0
    while pending.size:
        level += 1
        count[pending] = level
        prob[pending] *= rate[pending] / level
        cdf[pending] += prob[pending]
        pending = pending[u[pending] > cdf[pending]]
    positive = count > 0
    return candidates[positive], count[positive]


def _block_surplus(fields: CityFields, seed: int, drv: Drivers, sim_days: np.ndarray) -> np.ndarray:
    """(days x cells) flood surplus S of `sim_days`: on rainy days by the day's storm pattern, from
    its own stream (patterns depend only on the seed and the day; one matrix product for the
    block); without rain the day's water (snowmelt, or none) is the same over the city."""
    weather_days = sim_days + P.WEATHER_LEAD_DAYS
    surplus = np.repeat(drv.surplus(weather_days[:, None], 1.0), fields.n_cells, axis=1)
    rainy = np.flatnonzero(drv.rain_mm[weather_days] > 0)
    if rainy.size == 0:
        return surplus
    ordinal0 = P.SIM_START.toordinal()
    weights = np.stack(
        [
            np.random.default_rng([seed, ordinal0 + int(d), P.STREAM_STORM]).standard_normal(
                P.STORM_N_FEATURES
            )
            for d in sim_days[rainy]
        ]
    )
    patterns = storm_patterns(fields, weights, drv.storm_log_sd[weather_days[rainy]])
    surplus[rainy] = drv.surplus(weather_days[rainy, None], patterns)
    return surplus


def _neighbour_entries(
    adjacency: sp.csr_matrix, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each of `cells`, its ring-1 neighbours: (neighbour cell, position in `cells`)."""
    starts, stops = adjacency.indptr[cells], adjacency.indptr[cells + 1]
    lengths = stops - starts
    owner = np.repeat(np.arange(cells.size), lengths)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return adjacency.indices[starts[owner] + offset], owner


def _run(
    seed: int,
    fields: CityFields,
    drv: Drivers,
    rates: Intensity,
    state: tuple[np.ndarray, np.ndarray, np.ndarray],
    first: int,
    stop: int,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Simulate sim days first..stop-1 from `state` (after day first-1: E, its sum over types and
    the flood backlog B).

    Days run in blocks aligned on multiples of SIM_BLOCK_DAYS from SIM_START whatever `first` is
    (it is always a block boundary), so each block's storm patterns come from the same matrix
    product in a fresh or an extended simulation."""
    n_days, n_cells = stop - first, fields.n_cells
    n_types = rates.dry_part.shape[1]
    base_total = np.empty((n_days, n_cells))
    excitation_total = np.empty((n_days, n_cells))
    vulnerability, adjacency = fields.vulnerability, fields.adjacency
    beta, a_self, a_nbr = P.HAWKES_BETA, P.HAWKES_ALPHA_SELF, P.HAWKES_ALPHA_NBR
    lead = P.WEATHER_LEAD_DAYS
    sim_ordinal0 = P.SIM_START.toordinal()
    excitation, excitation_sum, backlog = (array.copy() for array in state)
    lam = np.empty_like(vulnerability)
    every_type = np.ones(n_types)
    flood = np.empty((n_cells, 2))  # per cell: the day's surplus S and the backlog B before it
    found_day, found_flat, found_count = [], [], []
    for block in range(first, stop, P.SIM_BLOCK_DAYS):
        block_days = np.arange(block, min(block + P.SIM_BLOCK_DAYS, stop))
        block_surplus = _block_surplus(fields, seed, drv, block_days)
        for surplus, d in zip(block_surplus, block_days.tolist(), strict=True):
            i, w = d - first, d + lead
            flood[:, 0], flood[:, 1] = surplus, backlog
            # b = V * q * (1 + g S + k B), as V * (q + [S B] @ [g q; k q]): one small product.
            q = rates.dry_part[w]
            np.matmul(flood, np.stack([rates.flood_gain[w] * q, rates.backlog_gain * q]), out=lam)
            lam += q
            lam *= vulnerability
            np.matmul(lam, every_type, out=base_total[i])  # the sum over types, 5x faster
            lam += excitation
            rng = np.random.default_rng([seed, sim_ordinal0 + d, P.STREAM_INCIDENTS])
            flat, count = poisson_by_inversion(rng, lam)
            backlog *= P.FLOOD_BACKLOG_DECAY
            backlog += backlog_inflow(surplus)
            excitation *= beta
            excitation_sum *= beta
            if flat.size:
                cell, typ = np.divmod(flat, n_types)
                np.add.at(excitation, (cell, typ), a_self * count)
                np.add.at(excitation_sum, cell, a_self * count)
                neighbour, owner = _neighbour_entries(adjacency, cell)
                np.add.at(excitation, (neighbour, typ[owner]), a_nbr * count[owner])
                np.add.at(excitation_sum, neighbour, a_nbr * count[owner])
                found_day.append(np.full(flat.size, d, dtype=np.int32))
                found_flat.append(flat)
                found_count.append(count)
            excitation_total[i] = excitation_sum
    if found_flat:
        flat = np.concatenate(found_flat)
        day = np.concatenate(found_day)
        count = np.concatenate(found_count).astype(np.int32)
    else:
        flat, day, count = (np.empty(0, dtype=np.int64), np.empty(0, np.int32),
                            np.empty(0, np.int32))  # fmt: skip
    cell, typ = np.divmod(flat, n_types)
    arrays: list[np.ndarray] = [day, cell.astype(np.int32), typ.astype(np.int16), count]
    return arrays, base_total, excitation_total, (excitation, excitation_sum, backlog)


_CACHE: dict[tuple[int, int], Simulation] = {}
_LOCK = threading.Lock()


def simulation(seed: int, resolution: int, through: date) -> Simulation:
    """The cached simulation of (seed, resolution), extended if needed to cover `through`."""
    needed = (through - P.SIM_START).days + 1
    with _LOCK:
        cached = _CACHE.get((seed, resolution))
        if cached is not None and cached.n_days >= needed:
            return cached
        weather = simulate_weather(seed)
        blocks = -(-needed // P.SIM_BLOCK_DAYS)
        limit = weather.n_days - P.WEATHER_LEAD_DAYS
        stop = min(blocks * P.SIM_BLOCK_DAYS, limit)
        fields, rates = city_fields(seed, resolution), intensity(seed, resolution)
        if cached is None:
            first = 0
            state = (np.zeros_like(fields.vulnerability), np.zeros(fields.n_cells),
                     np.zeros(fields.n_cells))  # fmt: skip
        else:
            first = cached.n_days
            state = (cached.excitation_state, cached.excitation_sum_state, cached.backlog_state)
        arrays, base_total, excitation_total, state = _run(
            seed, fields, drivers(seed), rates, state, first, stop
        )
        if cached is not None:
            old = [cached.incident_day, cached.incident_cell, cached.incident_type,
                   cached.incident_count]  # fmt: skip
            arrays = [np.concatenate([a, b]) for a, b in zip(old, arrays, strict=True)]
            base_total = np.concatenate([cached.base_total, base_total])
            excitation_total = np.concatenate([cached.excitation_total, excitation_total])
        day, cell, typ, count = arrays
        result = Simulation(seed, resolution, stop, day, cell, typ, count, base_total, excitation_total, *state)
        _CACHE[(seed, resolution)] = result
        return result


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def truth_frame(seed: int, resolution: int, start: date, end: date) -> pl.DataFrame:
    """One row per city cell per day start..end, sorted by day, h3_id:
    mu = expected incidents (all types) that day: the base intensity b (the day's weather, its
    storm's pattern and the flood backlog of earlier storms) plus the excitation of past incidents;
    p_oracle_7d = P(at least one incident on days t+1..t+7) for an oracle that knows the latent
    risk, every incident up to t and the coming week's actual weather, but not the excitation of
    incidents inside that week: 1 - exp(-sum_k [b_{t+k} + beta**(k-1) E_t]). Right for the
    simulated process: b_{t+k} depends on weather alone (the backlog after a storm, the patterns
    of the week's storms), so the oracle knows it ex ante; E_t is the excitation after day t's
    incidents, decaying by beta a day; what incidents inside the week would add is left out."""
    check_window(start, end)
    sim = simulation(seed, resolution, end + timedelta(days=P.TRUTH_LOOKAHEAD_DAYS))
    i0, i1 = sim.index(start), sim.index(end) + 1
    base, excitation = sim.base_total, sim.excitation_total
    mu = base[i0:i1] + excitation[i0 - 1 : i1 - 1]
    # Built in place: the 8-year window is 16 million cell-days.
    exponent = base[i0 + 1 : i1 + 1].copy()  # b over t+1..t+7 ...
    for k in range(2, 8):
        exponent += base[i0 + k : i1 + k]
    beta = P.HAWKES_BETA
    exponent += excitation[i0:i1] * ((1 - beta**7) / (1 - beta))  # ... + sum_k beta**(k-1) E_t
    p_oracle = np.negative(np.expm1(np.negative(exponent, out=exponent), out=exponent), out=exponent)

    cells = pl.Series("h3_id", city_fields(seed, resolution).cells, dtype=pl.String)
    n_days, n_cells = i1 - i0, len(cells)
    days = np.datetime64(start, "D") + np.arange(n_days)
    return pl.DataFrame(
        {
            "h3_id": cells.gather(np.tile(np.arange(n_cells), n_days)),
            "day": pl.Series(np.repeat(days, n_cells)).cast(pl.Date),
            "mu": mu.ravel(),
            "p_oracle_7d": p_oracle.ravel(),
        }
    )
