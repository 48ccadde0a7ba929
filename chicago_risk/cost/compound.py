"""The 7-day cost of a cell (or the savings of a cluster) as a compound distribution.

Count: a hurdle. N = 0 with probability 1 - p; otherwise N = 1 + M with M ~ Poisson(m) and
m = lambda/p - 1. Then P(N >= 1) = p_event_7d and E[N] = expected_events exactly: the model gives
both, and a plain Poisson(lambda) would contradict one of them (its P(N >= 1) is 1 - e^-lambda).
Each incident independently falls in category k (a severity class) with probability q_k and
costs v_k, so given N = n the category counts are Multinomial(n, q) and S = sum_k count_k v_k.

The mean is closed-form: lambda * sum_k q_k v_k. The quantile is exact, by enumerating the atoms
of S (count vectors): Cantelli's inequality puts the `level` quantile at or below
mu + sigma * sqrt(level / (1 - level)), so only atoms up to that value can be the quantile and
the enumeration is finite and small (a few hundred atoms at resolution 9). Exact rather than
Monte Carlo because it is deterministic (the same inputs give the same p90 to the last digit,
which re-materialized partitions must) and cheaper at the same accuracy: 1,000 draws per
cell-day would leave a p90 error of about 1% of probability and cost more than the enumeration.

The exact quantile of such a distribution is often below its mean: it is 0 wherever p <= 1 - level
(90% of weeks bring no incident), and a week with one minor incident can be the 90th percentile
while rarer major incidents lift the mean above it. The tail mean (expected shortfall: the mean
cost of the worst 1 - level of weeks) is always at least both, so it is returned as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.stats import poisson

# Rows x atoms elements per block of the enumeration (~32 MB of float64 per matrix).
_BLOCK_ELEMENTS = 4_000_000
_BLOCK_ROWS = 4_096
_FIRST_PASS_SIGMAS = 1.5
# Atoms needing more than this many incidents carry under 1e-12 of probability (Poisson tail).
_TAIL_PROBABILITY = 1e-12


@dataclass(frozen=True)
class Compound:
    """Per row: mean, variance, the `level` quantile and the tail mean above it."""

    mean: np.ndarray
    variance: np.ndarray
    quantile: np.ndarray
    tail_mean: np.ndarray


def hurdle_extra_mean(p: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """m of the hurdle count: incidents beyond the first, on average, given at least one."""
    safe_p = np.where(p > 0, p, 1.0)
    return np.where(p > 0, np.maximum(expected / safe_p - 1.0, 0.0), 0.0)


def compound_moments(
    p: np.ndarray, expected: np.ndarray, probs: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of S: Var S = E[N] Var X + Var N (E X)^2."""
    values = np.broadcast_to(values, probs.shape)
    mean_x = (probs * values).sum(axis=1)
    var_x = (probs * values**2).sum(axis=1) - mean_x**2
    m = hurdle_extra_mean(p, expected)
    second_moment_n = p * (1.0 + 3.0 * m + m**2)  # E[(1 + M)^2] = 1 + 3m + m^2 for M ~ Poisson(m)
    var_n = np.maximum(second_moment_n - expected**2, 0.0)
    return expected * mean_x, np.maximum(expected * var_x + var_n * mean_x**2, 0.0)


def compound(
    p: np.ndarray, expected: np.ndarray, probs: np.ndarray, values: np.ndarray, level: float
) -> Compound:
    """The compound cost of each row.

    p, expected: (rows,) chance of at least one incident and expected incidents (expected >= p).
    probs: (rows, K) category shares, each row summing to 1. values: (K,) positive cost of an
    incident of each category, shared by every row, or (rows, K) per row.
    """
    p = np.asarray(p, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if np.any(values < 0) or np.any(probs < 0) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("compound: p must be in [0, 1]; probs and values must be non-negative")
    mean, variance = compound_moments(p, expected, probs, values)
    quantile = np.zeros_like(p)
    below = np.zeros_like(p)  # E[S; S <= quantile]
    at_or_below = 1.0 - p  # P(S <= quantile)
    row_values = np.broadcast_to(values, probs.shape)
    # Rows whose quantile is a week without incidents (or whose incidents cost nothing).
    active = np.flatnonzero((1.0 - p < level) & (row_values.max(axis=1) > 0))
    if active.size:
        spread = np.sqrt(variance)
        # A first pass to mu + 1.5 sigma settles most rows with far fewer atoms; the rest go to
        # Cantelli's bound, which holds for every distribution.
        for sigmas in (_FIRST_PASS_SIGMAS, np.sqrt(level / (1.0 - level))):
            bound = mean + sigmas * spread
            q, b, f, settled = _quantiles(active, bound, p, expected, probs, values, level)
            quantile[active], below[active], at_or_below[active] = q, b, f
            active = active[~settled]
            if not active.size:
                break
    # Expected shortfall of a distribution with atoms: the mean of the worst (1 - level) weeks.
    tail_mean = np.where(
        1.0 - p >= level, mean / (1.0 - level), (mean - below + quantile * (at_or_below - level)) / (1.0 - level)
    )
    return Compound(mean=mean, variance=variance, quantile=quantile, tail_mean=np.maximum(tail_mean, quantile))


def _quantiles(rows, bound, p, expected, probs, values, level):
    """Quantile, E[S; S <= it], P(S <= it) and whether it was settled below `bound`, per row,
    in blocks of rows of similar bound (an atom enumeration serves a whole block)."""
    row_values = np.broadcast_to(values, probs.shape)
    order = np.argsort(bound[rows], kind="stable")
    results = [np.zeros(rows.size) for _ in range(3)] + [np.zeros(rows.size, dtype=bool)]
    start = 0
    while start < order.size:
        block = order[start : start + _BLOCK_ROWS]
        atoms = _atoms(rows[block], p, expected, row_values, bound)
        if block.size * atoms.shape[0] > _BLOCK_ELEMENTS:  # rows come by increasing bound
            block = block[: max(1, _BLOCK_ELEMENTS // atoms.shape[0])]
            atoms = _atoms(rows[block], p, expected, row_values, bound)
        for result, part in zip(
            results, _block_quantile(rows[block], atoms, p, expected, probs, values, level), strict=True
        ):
            result[block] = part
        start += block.size
    return tuple(results)


def _atoms(rows: np.ndarray, p, expected, row_values: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Count vectors that can hold the quantile of any of these rows: worth at most the largest
    bound at the rows' cheapest category values, and with fewer incidents than the Poisson tail
    of the extra incidents makes negligible."""
    lowest = row_values[rows].min(axis=0)
    block_bound = float(bound[rows].max())
    n_max = int(_tail_count(hurdle_extra_mean(p[rows], expected[rows])).max())
    return count_vectors(n_max, lowest, block_bound)


def count_vectors(n_max: int, values: np.ndarray, bound: float) -> np.ndarray:
    """Every count vector (atoms, K) with 1 <= total <= n_max and counts @ values <= bound."""
    counts = np.zeros((1, 0), dtype=np.int64)
    totals = np.zeros(1, dtype=np.int64)
    partial = np.zeros(1)
    for value in values:
        room = n_max - totals
        if value > 0:
            room = np.minimum(room, np.floor((bound - partial) / value + 1e-9).astype(np.int64))
        room = np.maximum(room, -1)
        repeats = room + 1
        parent = np.repeat(np.arange(counts.shape[0]), repeats)
        extra = np.arange(parent.size) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        counts = np.column_stack([counts[parent], extra])
        totals = totals[parent] + extra
        partial = partial[parent] + extra * value
    return counts[totals >= 1]


def _tail_count(m: np.ndarray) -> np.ndarray:
    """The most incidents worth counting: beyond, the Poisson tail of the extra ones is negligible.
    The tail is evaluated at m rounded up to a hundredth (conservative, as it grows with m), once
    per distinct value: scipy's Poisson quantile costs ~10 us a call."""
    grid, index = np.unique(np.ceil(m * 100) / 100, return_inverse=True)
    counts = np.where(grid > 0, 1 + poisson.isf(_TAIL_PROBABILITY, grid), 1).astype(np.int64)
    return counts[index.reshape(m.shape)]


def _weighted_counts(atoms: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum_k atoms[:, k] * weights[..., k] in a fixed order, elementwise: (A,) for weights (K,),
    (rows, A) for (rows, K). Not a BLAS product, whose rounding would depend on the block's
    shape: a row's result must not depend on which rows share its block."""
    if weights.ndim == 1:
        return sum(atoms[:, k] * weights[k] for k in range(atoms.shape[1]))
    return sum(weights[:, k, None] * atoms[None, :, k] for k in range(atoms.shape[1]))


def _block_quantile(rows, atoms, p, expected, probs, values, level):
    """Quantile, E[S; S <= quantile], P(S <= quantile) of a block of rows, and whether the atoms
    reach the level (if not, the bound was too low for that row)."""
    n = atoms.sum(axis=1)
    m = hurdle_extra_mean(p[rows], expected[rows])
    with np.errstate(divide="ignore"):
        log_m = np.log(np.maximum(m, 1e-300))
        log_q = np.log(np.maximum(probs[rows], 1e-300))
    # log P(atom) = log p - m + (n - 1) log m - log (n - 1)! + log multinomial(n; counts) + counts . log q
    per_atom = special.gammaln(n + 1) - special.gammaln(n) - special.gammaln(atoms + 1).sum(axis=1)
    log_prob = (np.log(p[rows]) - m)[:, None] + log_m[:, None] * (n - 1)[None, :] + _weighted_counts(atoms, log_q)
    prob = np.where(n[None, :] <= _tail_count(m)[:, None], np.exp(log_prob + per_atom[None, :]), 0.0)
    atom_values = _weighted_counts(atoms, values if values.ndim == 1 else values[rows])
    atom_values = np.broadcast_to(atom_values, prob.shape)
    order = np.argsort(atom_values[:1] if values.ndim == 1 else atom_values, axis=1, kind="stable")
    sorted_values = np.take_along_axis(atom_values, order, axis=1)
    sorted_prob = np.take_along_axis(prob, order, axis=1)
    # Running sums only: a row's prefix up to its quantile is the same whatever else the block holds.
    cdf = (1.0 - p[rows])[:, None] + np.cumsum(sorted_prob, axis=1)
    settled = cdf[:, -1] >= level - 1e-12
    picked = np.arange(rows.size)
    quantile = sorted_values[picked, np.minimum((cdf < level - 1e-12).sum(axis=1), cdf.shape[1] - 1)]
    last = (sorted_values <= quantile[:, None]).sum(axis=1) - 1  # ties: every atom of that value
    below = np.cumsum(sorted_prob * sorted_values, axis=1)[picked, last]
    return quantile, below, cdf[picked, last], settled
