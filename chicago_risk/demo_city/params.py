"""Every constant of the demo city, with where it comes from or why it has its value.

CHICAGO_FACTS.md is the source of the observable targets (weather climatology, yearly volumes, the
weather -> requests relations, the row shape); the rest are modelling choices, each explained here
so that the simulation modules hold no magic numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from chicago_risk.config import DATA_START, LEAK_TYPES

# ---------------------------------------------------------------------------------------------
# Time frame and random streams
# ---------------------------------------------------------------------------------------------

# The incident simulation starts this many days before DATA_START so that the self-excitation is
# already in its steady state on DATA_START (beta**35 ~ 1e-8): the first weeks are not quieter
# than the rest. Nothing before DATA_START is ever returned.
BURN_IN_DAYS = 35
SIM_START = DATA_START - timedelta(days=BURN_IN_DAYS)
# Weather starts two weeks earlier still, so that the lagged drivers (yesterday's rain, the last
# seven days' freeze-thaw crossings, the temperature drop) exist on the first simulated day.
WEATHER_LEAD_DAYS = 14
WEATHER_START = SIM_START - timedelta(days=WEATHER_LEAD_DAYS)
# Weather is always simulated over this fixed horizon, whatever window is asked for, so that a
# day's weather never depends on the window (the Markov chain and the AR(1) run from the start).
WEATHER_HORIZON_YEARS = 40
WEATHER_END = DATA_START.replace(year=DATA_START.year + WEATHER_HORIZON_YEARS)  # last simulated day
# Forecasts look 7 days ahead and the truth's oracle 7 days too, so the last day served keeps a
# margin before the end of the simulated weather.
FORECAST_DAYS = 7
LAST_SERVABLE_DAY = WEATHER_END - timedelta(days=30)
# The incident simulation is extended in blocks of this many days so that asking for one more day
# (a daily partition) rarely re-runs anything.
SIM_BLOCK_DAYS = 64
# The truth's oracle needs the coming 7 days' intensity, so the simulation runs past the window.
TRUTH_LOOKAHEAD_DAYS = 8

# Independent random streams: np.random.default_rng([seed, stream]) for whole-horizon draws and
# np.random.default_rng([seed, day.toordinal(), stream]) for per-day draws. A day's draws depend
# only on (seed, day, stream), never on the window asked for.
STREAM_WEATHER = 11
STREAM_FORECAST = 12  # forecast errors: their own stream so the weather itself is unaffected
STREAM_FIELDS = 13  # the latent vulnerability fields and the storm basis
STREAM_STORM = 14  # per day: the spatial pattern of that day's rain
STREAM_INCIDENTS = 15  # per day: the Poisson incident counts
STREAM_REPORTS = 16  # per day: duplicates, times, places, statuses and noise of that day's reports
STREAM_ADMIN = 17  # the synthetic community areas, wards and police districts
STREAM_BURST = 18  # whole horizon: how concentrated in time each day's rain was
STREAM_STORM_SAMPLE = 19  # sample storm patterns whose values calibrate the base rates

# ---------------------------------------------------------------------------------------------
# Weather (CHICAGO_FACTS: O'Hare 1995-2019, GHCN-Daily USW00094846)
# ---------------------------------------------------------------------------------------------

MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
CLIM_TMIN_C = np.array([-8.2, -6.6, -1.4, 3.8, 9.7, 15.3, 18.3, 17.8, 13.2, 6.9, 0.4, -5.3])
CLIM_TMIN_SD_C = np.array([6.9, 6.5, 5.7, 4.4, 4.6, 4.1, 3.4, 3.1, 4.3, 4.8, 5.2, 6.4])
CLIM_TMAX_C = np.array([-0.4, 1.9, 8.1, 14.9, 21.1, 26.7, 29.0, 27.9, 24.2, 17.0, 9.1, 2.1])
CLIM_WET_SHARE = np.array([0.35, 0.33, 0.34, 0.40, 0.41, 0.39, 0.31, 0.31, 0.25, 0.34, 0.32, 0.36])
CLIM_WET_MEAN_MM = np.array([4.5, 5.7, 5.6, 7.8, 9.0, 9.0, 10.3, 11.7, 10.1, 7.8, 6.0, 4.9])
CLIM_P99_MM = np.array([20.6, 27.7, 25.9, 34.3, 43.9, 37.1, 45.2, 56.9, 43.9, 31.5, 29.5, 28.7])
CLIM_FREEZE_SHARE = np.array([0.90, 0.87, 0.65, 0.20, 0, 0, 0, 0, 0, 0.08, 0.48, 0.83])

TMIN_LAG1 = 0.7  # CHICAGO_FACTS: daily tmin anomalies have lag-1 autocorrelation about 0.7
# tmax moves with the same air mass as tmin, a bit less (clear nights cool more than days warm),
# plus its own small noise; the diurnal range never drops below 1 C.
TMAX_ANOMALY_COUPLING = 0.85
TMAX_NOISE_SD_C = 1.8
MIN_DIURNAL_RANGE_C = 1.0
WET_THRESHOLD_MM = 0.25  # CHICAGO_FACTS: a wet day has >= 0.25 mm
# Lag-1 autocorrelation of the wet/dry indicator (wet spells last longer than coin flips; about
# 0.2-0.3 for Midwest daily series). p(wet|wet) = share + r*(1-share), p(wet|dry) = share*(1-r),
# which keeps the stationary wet share equal to the table's.
WET_PERSISTENCE = 0.25
# Wet-day amounts are 0.25 mm + Gamma(shape k, mean = table mean - 0.25). Each month's shape k is
# solved from the table's 99th percentile of all days (weather.gamma_shapes): it gives shapes of
# 0.3-0.75 and about 8.5 days a year of >= 25 mm, which CHICAGO_FACTS says is about 8.
GAMMA_SHAPE_BOUNDS = (0.2, 1.5)

# Snow: precipitation falls as snow below SNOW_BELOW_C of daily mean temperature and as rain above
# RAIN_ABOVE_C, mixed (linearly) between: the usual transition band of daily phase partitioning in
# snow hydrology (HBV and Snow-17 put their thresholds at about 0-2 C). The snowpack (water
# equivalent) melts by the degree-day method, MELT_MM_PER_C a day for each degree of mean
# temperature above 0 C (2-5 mm/C/day is the usual range in open terrain), plus the heat that rain
# brings to the pack: c_water / L_fusion = 4.19 / 334 = 0.0125 mm of melt per mm of rain per C.
SNOW_BELOW_C = -1.0
RAIN_ABOVE_C = 2.0
MELT_MM_PER_C = 3.0
RAIN_MELT_PER_MM_C = 4.19 / 334.0
# A snowpack of this much water (about 10 cm of snow) covers the streets: snow banks and frozen
# slush block the catch basins, so rain and melt pond on the streets (params.TypeModel.thaw).
SNOW_COVER_MM = 10.0
# Melt comes out over the warm hours and partly refreezes at night or stays in the pack, so a mm of
# melt floods like this share of a mm of (bursty) rain.
MELT_FLOOD_SHARE = 0.5
# Sub-daily intensity: sewers overflow with the rain of the wettest hours, not the daily total, so
# the same daily amount floods more as a cloudburst than as a day-long soak. Each day's flood
# surplus is multiplied by a "burst" factor (its own random stream, so the station weather is
# unchanged): lognormal of median 1 for the usual spread of rain over a day's hours, times
# CLOUDBURST_FACTOR on the warm days (tmax at least CONVECTIVE_TMAX_C) that bring convective
# cloudbursts. Chicago's worst flooding days are such summer storms: of its eight days of 60 mm or
# more in 2010-16 the median brought 496 flooding calls and the worst 3,380. Rare cloudbursts make
# that tail while leaving the typical day of each amount, the bucket medians, as it is (factor
# fitted with the flood knots: the worst day of 30 years is 130-170 times the median day).
BURST_LOG_SD = 0.3
CLOUDBURST_SHARE = 0.1
CLOUDBURST_FACTOR = 6.0
CONVECTIVE_TMAX_C = 20.0

# Forecast errors, growing with lead time k = 1..7 days (NWS-like skill: tmin errors of ~1.5 C a
# day ahead to ~4 C a week ahead; quantitative precipitation forecasts lose most skill by day 5).
FC_TMIN_SD_C = (1.0, 0.4)  # sd = a + b*k
FC_PRECIP_LOG_SD = (0.35, 0.12)  # multiplicative lognormal error, mean 1, sd of log = a + b*k
FC_PRECIP_DRIZZLE_MM = (0.05, 0.05)  # model drizzle: Exponential(mean a + b*k) added per day, so a
# forecast is never exactly the observed future (about +1.75 mm a week, a usual wet bias)

# ---------------------------------------------------------------------------------------------
# Weather -> incident drivers (CHICAGO_FACTS "How the weather drives requests")
# ---------------------------------------------------------------------------------------------

# Flooding calls of a cell against the water reaching its ground that day (its rain, by the storm's
# pattern over the city, plus snowmelt), as a ratio to a dry day: log-linear between knots, then
# with the tail slope, up to a cap; the day's burst multiplies the surplus (ratio - 1). The knots
# are fitted so that the city's flooding rows per day, bucketed by the day's own O'Hare
# precipitation, have Chicago's medians (CHICAGO_FACTS, 2010-01 to 2016-09: dry 16, 0.1-5 mm 22,
# 5-15 mm 35, 15-25 mm 103, 25-40 mm 153, 40-60 mm 397, 60 mm or more 496): over 30 simulated years
# (2019-48, H3 resolution 7) of five seeds (the default and 1-4), all 35 medians land within 27%
# (the default seed's within 20%); 5-15 mm and 60 mm or more sit high, 40-60 mm low. The city's
# curve is flatter than a cell's because storms spread their rain unevenly, and light
# precipitation in winter is snow. The first step is steep because a day's rain is counted at
# O'Hare while some of the city gets more, and because the yearly volumes (config.LEAK_TYPES,
# since 2018) are 11% above 2010-16's, whose dry days were quieter.
FLOOD_KNOTS_MM = np.array([0.0, 0.25, 5.0, 10.0, 15.0, 22.0, 35.0, 50.0, 80.0])
FLOOD_KNOTS_RATIO = np.array([1.0, 1.9, 2.0, 3.3, 9.0, 14.0, 21.0, 62.0, 66.0])
FLOOD_TAIL_SLOPE_PER_MM = 0.015
FLOOD_RATIO_CAP = 250.0  # a cell's basements and streets are all under water: no further growth
# A day floods the city at most this much: where the cells' mean surplus S (burst included) would
# be higher, every cell's is scaled down alike, so the storm keeps its uneven pattern. It keeps the
# worst days of a few decades at 2,400-5,000 flooding calls (CHICAGO_FACTS: 2001-08-02, 2010-07-24,
# 2013-04-18; five seeds' worst of 30 years: 2,800-3,400) and every day's requests of all types
# within what raw_311_requests' volume check finds plausible for its weather (ingest.volume; the
# closest day of those 150 years, a snowmelt day, at 0.72 of its allowance).
CITY_SURPLUS_CAP = 450.0
# After a storm the ground stays saturated and the sewers and the river stay high, so basements keep
# flooding (and being found, and reported) for days: the three dry days after 2010-07-24 (3,380
# calls) still brought 940-1,020 a day (CHICAGO_FACTS). Only water that overwhelms the sewers leaves
# that backlog: a cell's backlog gains the part of its day's surplus S above BACKLOG_FREE_SURPLUS
# (a flood ratio of 4, about 10 mm of ordinary rain), and decays by FLOOD_BACKLOG_DECAY a day; it
# adds rain * tail * backlog to a type's ratio on the following days (TypeModel.tail). Fitted with
# the knots: the three dry days after the biggest storms bring about a half, two fifths and a
# third of the storm day's calls, more than Chicago's one documented case (28-30% each): with
# Chicago's medians, the yearly volumes leave that much to the days after storms.
BACKLOG_FREE_SURPLUS = 3.0
FLOOD_BACKLOG_DECAY = 0.8
# r = max(today's, yesterday's precipitation) at or above this is a storm window (duplicates
# surge, CHICAGO_FACTS).
STORM_WINDOW_MM = 12.7

# Main breaks: freeze-thaw crossings (tmin <= 0 < tmax) in the last 7 days, weighted by recency
# (CHICAGO_FACTS: 28 breaks in the nine days from 2017-12-27), sharp drops of the daily mean
# temperature, and sustained cold (frost depth: the 7-day mean tmin below 0).
FREEZE_THAW_DECAY = 0.7  # weight of a crossing k days ago: 0.7**k, k = 0..6
TEMP_DROP_FREE_C = 4.0  # drops of the daily mean temperature beyond this count...
TEMP_DROP_SCALE_C = 5.0  # ...in units of this many degrees
TEMP_DROP_CAP = 3.0
COLD_SCALE_C = 10.0  # cold index = max(0, -(7-day mean tmin)) / 10

# Open hydrants follow heat: about 57 a day in summer, 551 on a heat-wave day (CHICAGO_FACTS).
# h = season * (exp(k * (tmax - its climatology)) + heat-wave boost): the season is a smooth
# function of the climatological tmax (summer ~25x winter); a day warmer than usual for the date
# brings more (+7 C: 2.3x), and heat waves far more: the boost rises linearly above 35 C (about the
# 98th percentile of July tmax), to ~8x the summer mean at 36-37 C and ~12x at the 38 C cap.
# Heat-wave days are rare (0-7 a year), so they alone make hydrant volumes vary by ~15% from year
# to year; a steeper boost would break the +-25% yearly volume target in cool summers.
HEAT_REF_C = 28.0
HEAT_SEASON_SLOPE_PER_C = np.log(10.0) / 8.0
HEAT_FLOOR = 0.04  # winter hydrant openings (vandalism, crashes, flushing) ~2-3 a day
HEAT_ANOMALY_SLOPE_PER_C = 0.12
HEAT_WAVE_FROM_C = 35.0
HEAT_WAVE_GAIN_PER_C = 4.0
HEAT_CAP_C = 38.0

# Reporting is lower at weekends (fewer people out, offices closed); Mon..Sun, mean 1.
DOW_FACTOR = np.array([1.08, 1.05, 1.04, 1.03, 1.00, 0.92, 0.88])
DOW_FACTOR = DOW_FACTOR / DOW_FACTOR.mean()

# ---------------------------------------------------------------------------------------------
# Latent spatial fields (all log-multipliers of unit variance over the city's cells)
# ---------------------------------------------------------------------------------------------

FIELD_NAMES = ("age", "low", "heat", "pop", "idio")
# Smooth fields mix a neighbourhood scale and a district scale (random Fourier features of a
# squared-exponential kernel); `idio` is cell-level noise (a particular bad main, a flat roof).
FIELD_LENGTH_SCALES_KM = (1.0, 4.0)
FIELD_SCALE_MIX = 0.5  # variance share of the 1 km scale
FIELD_N_FEATURES = 400
# Storms are uneven (CHICAGO_FACTS: over 100 mm in one neighbourhood and 35 mm at Midway the same
# day): a rainy day's rain in each cell is the station's times exp(sd * g) / its mean over the city,
# g a smooth field of this length scale. Day-long frontal rain is fairly even (sd 0.3: the wettest
# neighbourhood gets about 1.8x the city's mean); convective storms (the cloudburst days) are not
# (sd 0.6: about 3x the mean and 5-10x the driest part). With the convex flood response a storm
# floods some neighbourhoods far more than others, and each storm others.
STORM_LENGTH_SCALE_KM = 5.0
STORM_LOG_SD = 0.3
CONVECTIVE_STORM_LOG_SD = 0.6
STORM_N_FEATURES = 128
# The base rates are calibrated on the flood response averaged over the values that storm patterns
# take: pooled from this many sample patterns, summarised by this many quantiles.
STORM_SAMPLE_PATTERNS = 16
STORM_SAMPLE_QUANTILES = 64

# Reference point of the local km coordinates and of the address grid: State & Madison.
GRID_ORIGIN_LAT, GRID_ORIGIN_LON = 41.88189, -87.62779
KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON_EQUATOR = 111.32

# ---------------------------------------------------------------------------------------------
# Self-excitation (discrete Hawkes process per type)
# ---------------------------------------------------------------------------------------------

# An incident on day s adds alpha*beta**(d-s-1) to the intensity on day d > s in its own cell
# (alpha_self) and each ring-1 neighbour (alpha_nbr): a failing main fails again, a flooded
# block floods its neighbours. Branching ratio n = (alpha_self + 6*alpha_nbr)/(1-beta) = 0.25,
# half of it in the cell itself; most of the excitation is spent within 3-4 days.
HAWKES_BETA = 0.6
HAWKES_ALPHA_SELF = 0.05
HAWKES_ALPHA_NBR = 0.05 / 6


# ---------------------------------------------------------------------------------------------
# The request types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeModel:
    """How one request type responds to weather and place, and how often it is re-reported.

    The weather multiplier of a cell c on day d is a product of linear mixes, each 1 on an ordinary
    dry mild day:
    freeze: 1 + freeze_thaw * ft_index + temp_drop * drop_index + cold * cold_index
    heat:   1 + heat * (h(tmax) - 1)
    flood:  1 + (rain + thaw * snow_cover(d)) * S(c, d) + rain * tail * backlog(c, d - 1)
    with S = flood_ratio(water reaching the cell's ground) - 1 and the backlog the decaying sum of
    the cell's past S (intensity.py). `thaw` is the extra response of a snow-bound city, whose
    blocked drains and thawing ground turn rain and melt into flooded streets and broken mains.
    `fields` are the coefficients of the latent fields in log V_type(cell).
    Duplicates per incident are Poisson(dup_dry + (dup_storm - dup_dry) * storm_weight(r)).
    """

    sr_type: str
    rain: float = 0.0
    freeze_thaw: float = 0.0
    temp_drop: float = 0.0
    cold: float = 0.0
    heat: float = 0.0
    thaw: float = 0.0
    tail: float = 0.0
    fields: dict[str, float] = field(default_factory=dict)
    dup_dry: float = 0.04
    dup_storm: float = 0.04


# Rain at full strength for Water in Basement and Water On Street (the CHICAGO_FACTS flooding
# curve is measured on exactly these two), weaker for the sewer types. Main-break types (Water On
# Street, No Water, Low Water Pressure, Check for Leak, Sewer Cave-In) follow freeze-thaw; hydrants
# and a little of Low Water Pressure follow heat. Population ("pop": who is there to report) enters
# every type; old mains ("age"), low-lying basements ("low") and heat-prone blocks ("heat") the
# types they drive. Water On Street duplicates: 24-29% of its requests in storm windows
# (CHICAGO_FACTS) -> 0.38 duplicates per incident (27.5%); No Water and hydrants are reported by
# many neighbours at once.
TYPE_MODELS: tuple[TypeModel, ...] = (
    TypeModel(
        "Water On Street Complaint",
        rain=1.0, freeze_thaw=0.30, temp_drop=0.20, cold=0.20, thaw=4.0, tail=0.3,
        fields={"pop": 0.45, "low": 0.5, "age": 0.4, "idio": 0.3},
        dup_dry=0.05, dup_storm=0.38,
    ),
    TypeModel(
        "Water in Basement Complaint",
        rain=1.0, tail=0.5,
        fields={"pop": 0.45, "low": 0.8, "idio": 0.3},
        dup_dry=0.03, dup_storm=0.08,
    ),
    TypeModel(
        "Sewer Cleaning Inspection Request",
        rain=0.35, tail=0.5,
        fields={"pop": 0.45, "low": 0.5, "age": 0.3, "idio": 0.3},
        dup_dry=0.05, dup_storm=0.10,
    ),
    TypeModel(
        "Check for Leak",
        freeze_thaw=0.25, temp_drop=0.15, cold=0.20, thaw=0.1,
        fields={"pop": 0.5, "age": 0.6, "idio": 0.3},
        dup_dry=0.06, dup_storm=0.06,
    ),
    TypeModel(
        "Open Fire Hydrant Complaint",
        heat=1.0,
        fields={"pop": 0.45, "heat": 0.9, "idio": 0.3},
        dup_dry=0.15, dup_storm=0.15,
    ),
    TypeModel(
        "Sewer Cave-In Inspection Request",
        rain=0.25, freeze_thaw=0.20, temp_drop=0.10, cold=0.10, thaw=0.1, tail=0.5,
        fields={"pop": 0.4, "age": 0.6, "low": 0.3, "idio": 0.3},
        dup_dry=0.04, dup_storm=0.06,
    ),
    TypeModel(
        "No Water Complaint",
        freeze_thaw=0.45, temp_drop=0.30, cold=0.40, thaw=0.15,
        fields={"pop": 0.4, "age": 0.8, "idio": 0.3},
        dup_dry=0.12, dup_storm=0.12,
    ),
    TypeModel(
        "Low Water Pressure Complaint",
        freeze_thaw=0.30, temp_drop=0.20, cold=0.25, heat=0.06, thaw=0.1,
        fields={"pop": 0.4, "age": 0.6, "heat": 0.3, "idio": 0.3},
        dup_dry=0.08, dup_storm=0.08,
    ),
    TypeModel(
        "Alley Sewer Inspection Request",
        rain=0.5, tail=0.5,
        fields={"pop": 0.45, "low": 0.5, "age": 0.4, "idio": 0.3},
        dup_dry=0.04, dup_storm=0.06,
    ),
    TypeModel(
        "Water Quality Concern",
        heat=0.02,
        fields={"pop": 0.5, "age": 0.5, "idio": 0.3},
        dup_dry=0.03, dup_storm=0.03,
    ),
)  # fmt: skip
assert tuple(m.sr_type for m in TYPE_MODELS) == tuple(t.sr_type for t in LEAK_TYPES), (
    "TYPE_MODELS must list config.LEAK_TYPES in the same order"
)
# Duplicates surge between these two values of r = max(today's, yesterday's rain): none of the
# storm surplus below 5 mm, all of it from the storm-window threshold up.
DUP_STORM_RAMP_MM = (5.0, STORM_WINDOW_MM)
# The yearly volumes of config.LEAK_TYPES are calibrated on this span of the simulated weather
# (fixed, so base rates never depend on the window asked for).
CALIBRATION_YEARS = 30

# ---------------------------------------------------------------------------------------------
# Reports (rows in the SODA shape)
# ---------------------------------------------------------------------------------------------

# Share of the day's 311 requests by hour 0..23: quiet at night, a morning rise, busiest 9-17.
HOUR_WEIGHTS = np.array(
    [1.2, 0.8, 0.6, 0.5, 0.5, 0.8, 1.8, 3.5, 5.5, 6.8, 7.2, 7.2,
     6.9, 6.9, 6.8, 6.5, 6.0, 5.3, 4.6, 4.0, 3.4, 2.8, 2.2, 1.6]
)  # fmt: skip
HOUR_WEIGHTS = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
ORIGINS = ("Phone Call", "Internet", "Mobile Device")
ORIGIN_SHARES = np.array([0.55, 0.17, 0.28])
DEPARTMENT = "DWM - Department of Water Management"
# Duplicates are filed 0-36 h after the first report, most of them within hours (neighbours call
# about the same flooded street while it floods): exponential with this mean, truncated at 36 h.
DUPLICATE_DELAY_HOURS = 36.0
DUPLICATE_DELAY_MEAN_HOURS = 5.0
CLOSE_LOG_SD = 1.0  # time to close ~ lognormal around config's median_close_hours
CANCELED_SHARE = 0.03  # "a few %" of first reports are canceled (no problem found, wrong dept)
DUPLICATE_CLOSE_HOURS = (0.25, 2.0)  # duplicates are closed within an hour or two
# Points: cell centre + uniform jitter in a disc of this share of the average edge length (the
# hexagon's inscribed circle has radius 0.866 edges, so the point stays in its cell); duplicates
# sit at the first report's point plus a tiny jitter.
JITTER_EDGE_SHARE = 0.55
DUPLICATE_JITTER_EDGE_SHARE = 0.05
# Reporting noise, as shares of rows (CHICAGO_FACTS: about 99.8% carry coordinates).
NO_COORDS_SHARE = 0.002
OUTSIDE_CITY_SHARE = 0.0004  # shifted south into the suburbs or east into the lake
MALFORMED_SHARE = 0.0004  # a latitude like "4l.88" or a longitude like "-87,6298"
SHIFT_SOUTH_DEG = 0.45  # Howard St (42.02) - 0.45 is south of the city's southern tip (41.64)
SHIFT_EAST_DEG = 0.45  # the city's westernmost point (-87.94) + 0.45 is east of its shore (-87.52)

# Approximate Illinois State Plane East (NAD83, US feet) of State & Madison, and feet per degree
# there: x_coordinate/y_coordinate are a local linear approximation (cosmetic; within ~100 ft).
STATE_PLANE_ORIGIN_FT = (1_176_350.0, 1_900_500.0)
FT_PER_DEG_LAT = 364_560.0
FT_PER_DEG_LON = 271_600.0
# Chicago's address grid: 800 numbers a mile from State St (east/west) and Madison St (north/south).
ADDRESS_NUMBERS_PER_KM = 800 / 1.609344
# Major streets on the grid: (address coordinate, name, type). East-west streets by their north
# (+) or south (-) coordinate; north-south streets by their west (+) or east (-) coordinate.
EAST_WEST_STREETS: tuple[tuple[int, str, str], ...] = (
    (7600, "HOWARD", "ST"), (7200, "TOUHY", "AVE"), (6800, "PRATT", "BLVD"),
    (6400, "DEVON", "AVE"), (6000, "PETERSON", "AVE"), (5600, "BRYN MAWR", "AVE"),
    (5200, "FOSTER", "AVE"), (4800, "LAWRENCE", "AVE"), (4400, "MONTROSE", "AVE"),
    (4000, "IRVING PARK", "RD"), (3600, "ADDISON", "ST"), (3200, "BELMONT", "AVE"),
    (2800, "DIVERSEY", "PKWY"), (2400, "FULLERTON", "AVE"), (2000, "ARMITAGE", "AVE"),
    (1600, "NORTH", "AVE"), (1200, "DIVISION", "ST"), (800, "CHICAGO", "AVE"),
    (530, "GRAND", "AVE"), (200, "LAKE", "ST"), (0, "MADISON", "ST"),
    (-1200, "ROOSEVELT", "RD"), (-1600, "16TH", "ST"), (-2200, "CERMAK", "RD"),
    (-2600, "26TH", "ST"), (-3100, "31ST", "ST"), (-3500, "35TH", "ST"),
    (-3900, "PERSHING", "RD"), (-4300, "43RD", "ST"), (-4700, "47TH", "ST"),
    (-5100, "51ST", "ST"), (-5500, "GARFIELD", "BLVD"), (-5900, "59TH", "ST"),
    (-6300, "63RD", "ST"), (-6700, "67TH", "ST"), (-7100, "71ST", "ST"),
    (-7500, "75TH", "ST"), (-7900, "79TH", "ST"), (-8300, "83RD", "ST"),
    (-8700, "87TH", "ST"), (-9100, "91ST", "ST"), (-9500, "95TH", "ST"),
    (-9900, "99TH", "ST"), (-10300, "103RD", "ST"), (-10700, "107TH", "ST"),
    (-11100, "111TH", "ST"), (-11500, "115TH", "ST"), (-11900, "119TH", "ST"),
    (-12700, "127TH", "ST"), (-13000, "130TH", "ST"), (-13400, "134TH", "ST"),
    (-13800, "138TH", "ST"),
)  # fmt: skip
NORTH_SOUTH_STREETS: tuple[tuple[int, str, str], ...] = (
    (-3600, "EWING", "AVE"), (-3000, "COMMERCIAL", "AVE"), (-2400, "YATES", "BLVD"),
    (-2000, "JEFFERY", "BLVD"), (-1600, "STONY ISLAND", "AVE"), (-800, "COTTAGE GROVE", "AVE"),
    (-400, "MARTIN LUTHER KING", "DR"), (-100, "MICHIGAN", "AVE"), (0, "STATE", "ST"),
    (500, "CANAL", "ST"), (800, "HALSTED", "ST"), (1000, "MORGAN", "ST"), (1200, "RACINE", "AVE"),
    (1600, "ASHLAND", "AVE"), (2000, "DAMEN", "AVE"), (2400, "WESTERN", "AVE"),
    (2800, "CALIFORNIA", "AVE"), (3200, "KEDZIE", "AVE"), (3400, "HOMAN", "AVE"),
    (3600, "CENTRAL PARK", "AVE"), (4000, "PULASKI", "RD"), (4400, "KOSTNER", "AVE"),
    (4800, "CICERO", "AVE"), (5200, "LARAMIE", "AVE"), (5600, "CENTRAL", "AVE"),
    (6000, "AUSTIN", "AVE"), (6400, "NARRAGANSETT", "AVE"), (6800, "OAK PARK", "AVE"),
    (7200, "HARLEM", "AVE"), (8400, "CUMBERLAND", "AVE"), (10000, "MANNHEIM", "RD"),
)  # fmt: skip
# Approximate centroids of Chicago ZIP codes (cosmetic: a row's zip is the nearest centroid's).
ZIP_CENTROIDS: tuple[tuple[str, float, float], ...] = (
    ("60601", 41.886, -87.623), ("60602", 41.883, -87.629), ("60603", 41.880, -87.626),
    ("60604", 41.878, -87.629), ("60605", 41.867, -87.617), ("60606", 41.882, -87.637),
    ("60607", 41.874, -87.651), ("60608", 41.849, -87.670), ("60609", 41.810, -87.653),
    ("60610", 41.904, -87.633), ("60611", 41.894, -87.620), ("60612", 41.880, -87.687),
    ("60613", 41.954, -87.657), ("60614", 41.922, -87.652), ("60615", 41.802, -87.602),
    ("60616", 41.844, -87.625), ("60617", 41.714, -87.556), ("60618", 41.946, -87.703),
    ("60619", 41.745, -87.605), ("60620", 41.741, -87.654), ("60621", 41.776, -87.640),
    ("60622", 41.902, -87.683), ("60623", 41.849, -87.717), ("60624", 41.880, -87.722),
    ("60625", 41.971, -87.702), ("60626", 42.009, -87.669), ("60628", 41.692, -87.619),
    ("60629", 41.776, -87.712), ("60630", 41.971, -87.760), ("60631", 41.995, -87.811),
    ("60632", 41.809, -87.712), ("60633", 41.664, -87.561), ("60634", 41.946, -87.806),
    ("60636", 41.776, -87.668), ("60637", 41.781, -87.603), ("60638", 41.781, -87.771),
    ("60639", 41.920, -87.756), ("60640", 41.972, -87.663), ("60641", 41.945, -87.747),
    ("60642", 41.901, -87.658), ("60643", 41.700, -87.663), ("60644", 41.881, -87.757),
    ("60645", 42.009, -87.695), ("60646", 41.993, -87.759), ("60647", 41.921, -87.701),
    ("60649", 41.763, -87.571), ("60651", 41.902, -87.741), ("60652", 41.746, -87.714),
    ("60653", 41.820, -87.612), ("60654", 41.892, -87.637), ("60655", 41.695, -87.704),
    ("60656", 41.974, -87.827), ("60657", 41.940, -87.653), ("60659", 41.991, -87.703),
    ("60660", 41.991, -87.663), ("60661", 41.883, -87.644), ("60666", 41.979, -87.904),
    ("60707", 41.922, -87.817), ("60827", 41.650, -87.630),
)  # fmt: skip
# Synthetic administrative areas (Voronoi regions of seeded cells; the real boundaries are not
# embedded): 77 community areas, 50 wards and Chicago's 22 police district numbers.
N_COMMUNITY_AREAS = 77
N_WARDS = 50
POLICE_DISTRICTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 22, 24, 25)
