"""Incidents -> 311 rows in the SODA shape, with the ways real reporting goes wrong.

Each incident gives one first report plus Poisson duplicates (more in storm windows for Water On
Street), filed 0-36 h later at the same place, flagged `duplicate` with the first report's
`sr_number` as `parent_sr_number`. Rows get a daytime-weighted time of day, a point jittered inside
the cell, an address on Chicago's grid, a status and closure time as seen at `as_of`, and a little
noise: rows without coordinates, with coordinates outside the city, or malformed.

All of a day's reporting randomness comes from that day's own stream, drawn as a few arrays per
day (the loop is over days only), so a row is identical whatever window is asked for.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import h3
import numpy as np
import polars as pl
from scipy import special
from scipy.spatial import cKDTree

from chicago_risk.config import CHICAGO_TZ, DATA_START, LEAK_TYPES
from chicago_risk.demo_city import params as P
from chicago_risk.demo_city.fields import CityFields, city_fields, lat_lon_to_km
from chicago_risk.demo_city.intensity import intensity
from chicago_risk.demo_city.simulate import Simulation, simulation
from chicago_risk.demo_city.weather import check_window
from chicago_risk.sources.soda import SODA_SCHEMA, SODA_TIMESTAMP_FORMAT, empty_soda_frame

# Columns of the per-row uniform draws (first reports, then duplicates).
_U_HOUR, _U_SECOND, _U_RADIUS, _U_ANGLE, _U_ORIGIN, _U_CLOSE, _U_CANCEL, _U_NOISE, _U_VARIANT = (
    range(9)
)
_N_INCIDENT_UNIFORMS = 9
_D_DELAY, _D_RADIUS, _D_ANGLE, _D_ORIGIN, _D_CLOSE, _D_NOISE, _D_VARIANT = range(7)
_N_DUPLICATE_UNIFORMS = 7
# Duplicates come at most 36 h after a first report made at most 24 h into its day.
_LOOKBACK_DAYS = 2

_NOISE_NONE, _NOISE_NO_COORDS, _NOISE_OUTSIDE, _NOISE_MALFORMED = range(4)


def _reporting_draws(
    seed: int, days: np.ndarray, types: np.ndarray, dup_rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per incident (sorted by day): its uniforms and duplicate count; per duplicate: its
    uniforms. Each day's draws come from rng([seed, day ordinal, STREAM_REPORTS])."""
    day_values, starts = np.unique(days, return_index=True)
    stops = np.append(starts[1:], days.size)
    ordinal0 = P.SIM_START.toordinal()
    incident_u, n_dups, duplicate_u = [], [], []
    for day, lo, hi in zip(day_values.tolist(), starts.tolist(), stops.tolist(), strict=True):
        rng = np.random.default_rng([seed, ordinal0 + day, P.STREAM_REPORTS])
        incident_u.append(rng.random((hi - lo, _N_INCIDENT_UNIFORMS)))
        dups = rng.poisson(dup_rate[day + P.WEATHER_LEAD_DAYS, types[lo:hi]])
        n_dups.append(dups)
        duplicate_u.append(rng.random((int(dups.sum()), _N_DUPLICATE_UNIFORMS)))
    return (
        np.concatenate(incident_u),
        np.concatenate(n_dups),
        np.concatenate(duplicate_u),
    )


def _noise_kind(u: np.ndarray) -> np.ndarray:
    """0 none, 1 no coordinates, 2 outside the city, 3 malformed, by a row's uniform draw."""
    edges = np.cumsum([P.NO_COORDS_SHARE, P.OUTSIDE_CITY_SHARE, P.MALFORMED_SHARE])
    kind = np.searchsorted(edges, u, side="right") + 1
    return np.where(kind > _NOISE_MALFORMED, _NOISE_NONE, kind)


def _jitter(
    lat: np.ndarray, lon: np.ndarray, radius_km: np.ndarray, angle: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    dlat = radius_km * np.sin(angle) / P.KM_PER_DEG_LAT
    dlon = radius_km * np.cos(angle) / (P.KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def _nearest_street(coordinate: np.ndarray, streets: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest street (by address coordinate) and the distance to it."""
    order = np.argsort([s[0] for s in streets])
    positions = np.array([streets[i][0] for i in order], dtype=np.float64)
    right = np.clip(np.searchsorted(positions, coordinate), 1, positions.size - 1)
    left = right - 1
    take_left = np.abs(coordinate - positions[left]) <= np.abs(positions[right] - coordinate)
    nearest = np.where(take_left, left, right)
    return order[nearest], np.abs(coordinate - positions[nearest])


def addresses(lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    """A plausible address on Chicago's grid for each point: on the nearer of the nearest major
    east-west and north-south streets, numbered 800 a mile from State and Madison."""
    xy = lat_lon_to_km(lat, lon)
    west = -xy[:, 0] * P.ADDRESS_NUMBERS_PER_KM
    north = xy[:, 1] * P.ADDRESS_NUMBERS_PER_KM
    ew, d_ew = _nearest_street(north, P.EAST_WEST_STREETS)
    ns, d_ns = _nearest_street(west, P.NORTH_SOUTH_STREETS)
    on_ew = d_ew <= d_ns
    ew_names = np.array([s[1] for s in P.EAST_WEST_STREETS])
    ew_types = np.array([s[2] for s in P.EAST_WEST_STREETS])
    ns_names = np.array([s[1] for s in P.NORTH_SOUTH_STREETS])
    ns_types = np.array([s[2] for s in P.NORTH_SOUTH_STREETS])
    number = np.maximum(np.rint(np.where(on_ew, np.abs(west), np.abs(north))), 1).astype(np.int64)
    direction = np.where(
        on_ew, np.where(west >= 0, "W", "E"), np.where(north >= 0, "N", "S")
    )
    _, zip_index = _zip_tree().query(xy)
    return {
        "street_number": number,
        "street_direction": direction,
        "street_name": np.where(on_ew, ew_names[ew], ns_names[ns]),
        "street_type": np.where(on_ew, ew_types[ew], ns_types[ns]),
        "zip_code": np.array([z[0] for z in P.ZIP_CENTROIDS])[zip_index],
    }


@lru_cache(maxsize=1)
def _zip_tree() -> cKDTree:
    lat = np.array([z[1] for z in P.ZIP_CENTROIDS])
    lon = np.array([z[2] for z in P.ZIP_CENTROIDS])
    return cKDTree(lat_lon_to_km(lat, lon))


def _skip_dst_gap(column: str) -> pl.Expr:
    """Local times that do not exist (the spring-forward hour) move one hour later."""
    local = pl.col(column).dt.replace_time_zone(
        CHICAGO_TZ, ambiguous="earliest", non_existent="null"
    )
    return (
        pl.when(local.is_null() & pl.col(column).is_not_null())
        .then(pl.col(column) + pl.duration(hours=1))
        .otherwise(pl.col(column))
        .alias(column)
    )


def _incident_rows(
    seed: int, resolution: int, sim: Simulation, first_day: int, last_day: int
) -> pl.DataFrame:
    """Every report (first and duplicate) of the incidents of sim days first_day..last_day, with
    numeric columns; the sr_number ordinals are ranked within each incident day."""
    keep = (sim.incident_day >= first_day) & (sim.incident_day <= last_day)
    repeat = np.repeat(np.flatnonzero(keep), sim.incident_count[keep])
    day = sim.incident_day[repeat].astype(np.int64)
    cell = sim.incident_cell[repeat].astype(np.int64)
    typ = sim.incident_type[repeat].astype(np.int64)
    if day.size == 0:
        return pl.DataFrame()
    fields: CityFields = city_fields(seed, resolution)
    rates = intensity(seed, resolution)
    u, n_dups, du = _reporting_draws(seed, day, typ, rates.dup_rate)
    edge_km = h3.average_hexagon_edge_length(resolution, "km")

    # First reports.
    hour_cdf = np.cumsum(P.HOUR_WEIGHTS)
    hour = np.minimum(np.searchsorted(hour_cdf, u[:, _U_HOUR], side="right"), 23)
    day_start_s = (np.datetime64(P.SIM_START, "s") + day * 86_400).astype(np.int64)
    created = day_start_s + hour * 3600 + np.floor(u[:, _U_SECOND] * 3600).astype(np.int64)
    lat, lon = _jitter(
        fields.lat[cell],
        fields.lon[cell],
        P.JITTER_EDGE_SHARE * edge_km * np.sqrt(u[:, _U_RADIUS]),
        2 * np.pi * u[:, _U_ANGLE],
    )
    median = np.array([t.median_close_hours for t in LEAK_TYPES])[typ]
    close_hours = median * np.exp(P.CLOSE_LOG_SD * special.ndtri(u[:, _U_CLOSE]))
    canceled = u[:, _U_CANCEL] < P.CANCELED_SHARE

    # Duplicates, each tied to its incident (the first report).
    parent = np.repeat(np.arange(day.size), n_dups)
    # Truncated exponential delay by inversion: most duplicates within hours, none after 36 h.
    mean_h, max_h = P.DUPLICATE_DELAY_MEAN_HOURS, P.DUPLICATE_DELAY_HOURS
    delay_h = -mean_h * np.log1p(-du[:, _D_DELAY] * -np.expm1(-max_h / mean_h))
    d_created = created[parent] + np.floor(delay_h * 3600).astype(np.int64)
    d_lat, d_lon = _jitter(
        lat[parent],
        lon[parent],
        P.DUPLICATE_JITTER_EDGE_SHARE * edge_km * np.sqrt(du[:, _D_RADIUS]),
        2 * np.pi * du[:, _D_ANGLE],
    )
    lo, hi = P.DUPLICATE_CLOSE_HOURS
    d_close_hours = lo + (hi - lo) * du[:, _D_CLOSE]

    n_first = day.size
    rows = pl.DataFrame(
        {
            "row": np.arange(n_first + parent.size),
            "incident_day": np.concatenate([day, day[parent]]),
            "cell": np.concatenate([cell, cell[parent]]),
            "type": np.concatenate([typ, typ[parent]]),
            "parent_row": np.concatenate([np.full(n_first, -1), parent]),
            "duplicate": np.concatenate([np.zeros(n_first, bool), np.ones(parent.size, bool)]),
            "created_s": np.concatenate([created, d_created]),
            "close_hours": np.concatenate([close_hours, d_close_hours]),
            "canceled": np.concatenate([canceled, np.zeros(parent.size, bool)]),
            "lat": np.concatenate([lat, d_lat]),
            "lon": np.concatenate([lon, d_lon]),
            "u_origin": np.concatenate([u[:, _U_ORIGIN], du[:, _D_ORIGIN]]),
            "u_noise": np.concatenate([u[:, _U_NOISE], du[:, _D_NOISE]]),
            "u_variant": np.concatenate([u[:, _U_VARIANT], du[:, _D_VARIANT]]),
        }
    )
    # sr_number ordinal: rank by created time among all reports of the same incident day.
    rows = rows.sort("incident_day", "created_s", "row").with_columns(
        ordinal=pl.int_range(1, pl.len() + 1).over("incident_day")
    )
    incident_date = pl.lit(P.SIM_START) + pl.duration(days=pl.col("incident_day"))
    rows = rows.with_columns(
        sr_number=pl.concat_str(
            pl.lit("SR"),
            (incident_date.dt.year() % 100).cast(pl.String).str.zfill(2),
            pl.lit("-"),
            incident_date.dt.ordinal_day().cast(pl.String).str.zfill(3),
            pl.col("ordinal").cast(pl.String).str.zfill(5),
        )
    )
    parents = rows.select(parent_row=pl.col("row"), parent_sr_number=pl.col("sr_number"))
    return rows.join(parents, on="parent_row", how="left").sort("row")


def report_frame(
    seed: int,
    resolution: int,
    start: date,
    end: date,
    sr_types: tuple[str, ...],
    as_of: datetime,
) -> pl.DataFrame:
    """Rows of `sr_types` created on start..end (and not after `as_of`) in exactly SODA_SCHEMA,
    sorted by created time then sr_number; status and closure as seen at `as_of`."""
    check_window(start, end)
    type_codes = {t.sr_type: i for i, t in enumerate(LEAK_TYPES)}
    wanted = sorted({type_codes[t] for t in sr_types if t in type_codes})
    if not wanted:
        return empty_soda_frame()
    # The same simulation length as the truth's, so one cached run serves both.
    sim = simulation(seed, resolution, end + timedelta(days=P.TRUTH_LOOKAHEAD_DAYS))
    # Incidents of the burn-in before DATA_START are never reported, so every duplicate's first
    # report can be fetched.
    first_day = max(sim.index(start) - _LOOKBACK_DAYS, sim.index(DATA_START))
    rows = _incident_rows(seed, resolution, sim, first_day, sim.index(end))
    if rows.is_empty():
        return empty_soda_frame()

    fields = city_fields(seed, resolution)
    as_of_naive = as_of.replace(tzinfo=None)
    rows = (
        rows.filter(pl.col("type").is_in(wanted))
        .with_columns(created=pl.from_epoch("created_s", time_unit="s"))
        .with_columns(_skip_dst_gap("created"))
        .filter(
            pl.col("created").dt.date().is_between(start, end),
            pl.col("created") <= as_of_naive,
        )
        .with_columns(
            closed=pl.col("created") + pl.duration(seconds=(pl.col("close_hours") * 3600).round())
        )
        .with_columns(_skip_dst_gap("closed"))
        .with_columns(is_closed=pl.col("closed") <= as_of_naive)
    )
    if rows.is_empty():
        return empty_soda_frame()

    lat, lon = rows["lat"].to_numpy(), rows["lon"].to_numpy()
    address = addresses(lat, lon)
    noise = _noise_kind(rows["u_noise"].to_numpy())
    variant_b = rows["u_variant"].to_numpy() >= 0.5
    outside = noise == _NOISE_OUTSIDE
    lat = np.where(outside & ~variant_b, lat - P.SHIFT_SOUTH_DEG, lat)
    lon = np.where(outside & variant_b, lon + P.SHIFT_EAST_DEG, lon)
    cell = rows["cell"].to_numpy()
    origin = np.array(P.ORIGINS)[
        np.searchsorted(np.cumsum(P.ORIGIN_SHARES), rows["u_origin"].to_numpy(), side="right")
        .clip(0, len(P.ORIGINS) - 1)
    ]
    x_ft = P.STATE_PLANE_ORIGIN_FT[0] + (lon - P.GRID_ORIGIN_LON) * P.FT_PER_DEG_LON
    y_ft = P.STATE_PLANE_ORIGIN_FT[1] + (lat - P.GRID_ORIGIN_LAT) * P.FT_PER_DEG_LAT

    rows = rows.with_columns(
        noise=pl.Series(noise),
        bad_latitude=pl.Series((noise == _NOISE_MALFORMED) & ~variant_b),
        bad_longitude=pl.Series((noise == _NOISE_MALFORMED) & variant_b),
        lat_out=pl.Series(lat),
        lon_out=pl.Series(lon),
        x_ft=pl.Series(x_ft),
        y_ft=pl.Series(y_ft),
        origin=pl.Series(origin),
        community_area=pl.Series(fields.community_area[cell]),
        ward=pl.Series(fields.ward[cell]),
        police_district=pl.Series(fields.police_district[cell]),
        **{name: pl.Series(values) for name, values in address.items()},
    )
    return _soda_columns(rows)


def _soda_columns(rows: pl.DataFrame) -> pl.DataFrame:
    has_coords = pl.col("noise") != _NOISE_NO_COORDS
    latitude = pl.col("lat_out").round(9).cast(pl.String)
    latitude = pl.when(pl.col("bad_latitude")).then(
        latitude.str.replace(r"^4(\d)", "4l")  # "41.88..." -> "4l.88...": a typo'd digit
    ).otherwise(latitude)
    longitude = pl.col("lon_out").round(9).cast(pl.String)
    # A decimal comma, as a form in another locale writes it. Dates stay well formed: the live
    # API's created_date is a typed column, so only file exports can carry a garbled one.
    longitude = pl.when(pl.col("bad_longitude")).then(
        longitude.str.replace(".", ",", literal=True)
    ).otherwise(longitude)
    created_text = pl.col("created").dt.strftime(SODA_TIMESTAMP_FORMAT)
    closed_text = pl.when(pl.col("is_closed")).then(
        pl.col("closed").dt.strftime(SODA_TIMESTAMP_FORMAT)
    )
    status = (
        pl.when(~pl.col("is_closed"))
        .then(pl.lit("Open"))
        .when(pl.col("canceled"))
        .then(pl.lit("Canceled"))
        .otherwise(pl.lit("Completed"))
    )
    street_address = pl.concat_str(
        pl.col("street_number").cast(pl.String),
        pl.col("street_direction"),
        pl.col("street_name"),
        pl.col("street_type"),
        separator=" ",
    )
    human_address = pl.concat_str(
        pl.lit('{"address": "'),
        street_address,
        pl.lit('", "city": "CHICAGO", "state": "IL", "zip": "'),
        pl.col("zip_code"),
        pl.lit('"}'),
    )
    sr_type = pl.col("type").replace_strict(
        {i: t.sr_type for i, t in enumerate(LEAK_TYPES)}, return_dtype=pl.String
    )
    short_code = pl.col("type").replace_strict(
        {i: t.short_code for i, t in enumerate(LEAK_TYPES)}, return_dtype=pl.String
    )
    columns = {
        "sr_number": pl.col("sr_number"),
        "sr_type": sr_type,
        "sr_short_code": short_code,
        "created_department": pl.lit(P.DEPARTMENT),
        "owner_department": pl.lit(P.DEPARTMENT),
        "status": status,
        "origin": pl.col("origin"),
        "created_date": created_text,
        # The last update is the closure, or the filing of a row still open.
        "last_modified_date": pl.when(pl.col("is_closed")).then(closed_text).otherwise(created_text),
        "closed_date": closed_text,
        "street_address": street_address,
        "zip_code": pl.col("zip_code"),
        "street_number": pl.col("street_number").cast(pl.String),
        "street_direction": pl.col("street_direction"),
        "street_name": pl.col("street_name"),
        "street_type": pl.col("street_type"),
        "community_area": pl.col("community_area"),
        "ward": pl.col("ward"),
        "police_district": pl.col("police_district"),
        "created_hour": pl.col("created").dt.hour().cast(pl.String),
        # Socrata numbers the weekday 1 = Sunday .. 7 = Saturday.
        "created_day_of_week": (pl.col("created").dt.weekday() % 7 + 1).cast(pl.String),
        "created_month": pl.col("created").dt.month().cast(pl.String),
        "x_coordinate": pl.when(has_coords).then(pl.col("x_ft").round(3).cast(pl.String)),
        "y_coordinate": pl.when(has_coords).then(pl.col("y_ft").round(3).cast(pl.String)),
        "latitude": pl.when(has_coords).then(latitude),
        "longitude": pl.when(has_coords).then(longitude),
        "parent_sr_number": pl.col("parent_sr_number"),
        "duplicate": pl.col("duplicate"),
        "legacy_record": pl.lit(False),
        "location": pl.when(has_coords).then(
            pl.struct(latitude=latitude, longitude=longitude, human_address=human_address)
        ),
    }
    return (
        rows.sort("created", "sr_number")
        .select(**{name: expr.cast(SODA_SCHEMA[name]) for name, expr in columns.items()})
        .select(list(SODA_SCHEMA))
    )
