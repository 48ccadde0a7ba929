"""The latent, spatially correlated make-up of the city's cells.

Per cell: smooth Gaussian random fields (old mains, low-lying basements, heat-prone blocks,
population / reporting propensity) plus cell-level noise, combined per request type into a
vulnerability multiplier V_type(cell) of mean 1; the ring-1 adjacency for the self-excitation; a
bank of smooth features from which each wet day draws its uneven rain pattern; and synthetic
administrative areas for the rows. Everything is seeded and cached per (seed, resolution).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.spatial import cKDTree

from chicago_risk.demo_city import params as P
from chicago_risk.grid import city_grid, ring1_pairs


def lat_lon_to_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Local (east, north) km from State & Madison; an equirectangular projection is exact to
    well under 1% over the city."""
    east = (lon - P.GRID_ORIGIN_LON) * P.KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat))
    north = (lat - P.GRID_ORIGIN_LAT) * P.KM_PER_DEG_LAT
    return np.column_stack([east, north])


def random_fourier_features(
    rng: np.random.Generator, xy_km: np.ndarray, length_km: float, n_features: int
) -> np.ndarray:
    """(cells x n_features) features whose weighted sum with N(0, 1) weights is a Gaussian field
    of squared-exponential covariance exp(-d^2 / (2 length^2)) and unit variance."""
    omega = rng.standard_normal((2, n_features)) / length_km
    phase = rng.uniform(0, 2 * np.pi, n_features)
    return np.sqrt(2.0 / n_features) * np.cos(xy_km @ omega + phase)


def _standardise(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std()


def smooth_field(rng: np.random.Generator, xy_km: np.ndarray) -> np.ndarray:
    """One standardised field mixing the neighbourhood and district length scales."""
    short, long_ = (
        random_fourier_features(rng, xy_km, length, P.FIELD_N_FEATURES)
        @ rng.standard_normal(P.FIELD_N_FEATURES)
        for length in P.FIELD_LENGTH_SCALES_KM
    )
    mix = P.FIELD_SCALE_MIX
    return _standardise(np.sqrt(mix) * _standardise(short) + np.sqrt(1 - mix) * _standardise(long_))


@dataclass(frozen=True)
class CityFields:
    """Everything spatial the simulation and the rows need, in `grid.city_cells` order."""

    cells: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    xy_km: np.ndarray
    latent: dict[str, np.ndarray]  # standardised fields by name (params.FIELD_NAMES)
    vulnerability: np.ndarray  # (cells x types) V_type(cell), each column of mean 1
    adjacency: sp.csr_matrix  # (cells x cells) ring-1 neighbours, 0/1
    storm_basis: np.ndarray  # (cells x STORM_N_FEATURES) random Fourier features
    community_area: np.ndarray  # synthetic, per cell (strings)
    ward: np.ndarray
    police_district: np.ndarray

    @property
    def n_cells(self) -> int:
        return len(self.cells)


def storm_patterns(fields: CityFields, weights: np.ndarray, log_sd: np.ndarray) -> np.ndarray:
    """(days x cells) uneven rain over the city, one row per row of `weights` (days x
    STORM_N_FEATURES, standard normal) and of `log_sd` (days,): lognormal, smooth, mean exactly 1
    over the cells."""
    patterns = np.exp(log_sd[:, None] * (weights @ fields.storm_basis.T))
    return patterns / patterns.mean(axis=1, keepdims=True)


def _adjacency(cells: tuple[str, ...], resolution: int) -> sp.csr_matrix:
    index = pl.DataFrame({"h3_id": cells, "i": np.arange(len(cells), dtype=np.int64)})
    pairs = (
        ring1_pairs(resolution)
        .join(index, on="h3_id")
        .join(index.rename({"h3_id": "nbr_h3_id", "i": "j"}), on="nbr_h3_id")
    )
    n = len(cells)
    return sp.csr_matrix(
        (np.ones(pairs.height), (pairs["i"].to_numpy(), pairs["j"].to_numpy())), shape=(n, n)
    )


def _voronoi_labels(
    rng: np.random.Generator, xy_km: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Each cell's label is that of the nearest of len(labels) seed cells drawn at random."""
    seeds = rng.choice(len(xy_km), size=len(labels), replace=False)
    _, nearest = cKDTree(xy_km[seeds]).query(xy_km)
    return labels[nearest]


@lru_cache(maxsize=4)
def city_fields(seed: int, resolution: int) -> CityFields:
    grid = city_grid(resolution)
    cells = tuple(grid["h3_id"].to_list())
    lat, lon = grid["lat"].to_numpy(), grid["lon"].to_numpy()
    xy = lat_lon_to_km(lat, lon)
    rng = np.random.default_rng([seed, P.STREAM_FIELDS])

    latent = {
        name: rng.standard_normal(len(cells)) if name == "idio" else smooth_field(rng, xy)
        for name in P.FIELD_NAMES
    }
    log_v = np.column_stack(
        [
            sum(w * latent[name] for name, w in model.fields.items())
            for model in P.TYPE_MODELS
        ]
    )
    vulnerability = np.exp(log_v)
    vulnerability /= vulnerability.mean(axis=0, keepdims=True)
    storm_basis = random_fourier_features(rng, xy, P.STORM_LENGTH_SCALE_KM, P.STORM_N_FEATURES)

    admin = np.random.default_rng([seed, P.STREAM_ADMIN])
    community = _voronoi_labels(admin, xy, np.arange(1, P.N_COMMUNITY_AREAS + 1).astype(str))
    ward = _voronoi_labels(admin, xy, np.arange(1, P.N_WARDS + 1).astype(str))
    district = _voronoi_labels(admin, xy, np.array(P.POLICE_DISTRICTS).astype(str))
    return CityFields(
        cells=cells,
        lat=lat,
        lon=lon,
        xy_km=xy,
        latent=latent,
        vulnerability=vulnerability,
        adjacency=_adjacency(cells, resolution),
        storm_basis=storm_basis,
        community_area=community,
        ward=ward,
        police_district=district,
    )
