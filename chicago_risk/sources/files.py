"""311 requests and weather from a folder of exports, for analysts who download from the portal.

A 311 export is any `*.csv` or `*.json` in the folder other than `weather.csv`, in either style the
portal gives: the API's (`v6vf-nfxy.csv`/`.json`: lower-case field names, SODA timestamps) or the
Export button's (upper-case display names, `01/01/2021 05:59:30 AM`, `LOCATION` as `(lat, lon)`).
Values stay the strings the export holds; normalisation downstream judges them.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any, cast

import polars as pl

from chicago_risk.sources.base import (
    WEATHER_SOURCE_SCHEMA,
    DatasetInfo,
    RequestSource,
    SourceUnavailableError,
    WeatherSource,
)
from chicago_risk.sources.soda import soda_frame

WEATHER_FILE = "weather.csv"
_OBSERVED = ("tmin_c", "tmax_c", "precip_mm")
# Both timestamp styles, read loosely: the filter only needs the day, normalisation does the rest.
_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%m/%d/%Y %I:%M:%S %p")
_LAT_LON = re.compile(r"^\(\s*([^,\s]+)\s*,\s*([^)\s]+)\s*\)$")  # Export button: (41.88, -87.63)
_WKT_POINT = re.compile(r"^POINT\s*\(\s*(\S+)\s+([^)\s]+)\s*\)$", re.I)  # WKT: POINT (lon lat)
_REQUIRED = ("sr_number", "sr_type", "created_date")
_SETTING = "CHICAGO_RISK_FILES_DIR"


class FilesSource(RequestSource, WeatherSource):
    """A folder of 311 exports plus a `weather.csv` (day,tmin_c,tmax_c,precip_mm and optionally
    fc_precip_7d_mm,fc_freeze_days_7d)."""

    folder: str

    def fetch_requests(self, start: date, end: date, sr_types: tuple[str, ...]) -> pl.DataFrame:
        """Rows of `sr_types` created in start..end, plus rows of those types whose created date
        does not parse (so that they reach quarantine). An sr_number found more than once (in
        overlapping exports) keeps the row with the latest last_modified_date, the later file in
        name order on a tie."""
        exports = pl.concat([_read_export(path) for path in self._export_paths()], how="diagonal")
        created = _timestamp("created_date").dt.date()
        rows = (
            _latest_versions(exports)
            .filter(
                pl.col("sr_type").is_in(sr_types),
                created.is_between(start, end) | created.is_null(),
            )
            .to_dicts()
        )
        return soda_frame({**row, "location": _location(row.get("location"))} for row in rows)

    def fetch_weather(self, start: date, end: date) -> pl.DataFrame:
        path = self._folder() / WEATHER_FILE
        if not path.is_file():
            raise SourceUnavailableError(
                f"No {WEATHER_FILE} in {path.parent.resolve()}; put the daily weather there or "
                f"set {_SETTING}."
            )
        weather = _read_weather(path).filter(pl.col("day").is_between(start, end))
        repeated = weather.filter(pl.col("day").is_duplicated())["day"].unique().sort()
        if len(repeated):
            raise SourceUnavailableError(f"{path} has more than one row for {_days(repeated)}.")
        # A day the file lacks keeps null observations: weather_daily fills and flags it.
        weather = pl.DataFrame({"day": pl.date_range(start, end, eager=True)}).join(
            weather, on="day", how="left"
        )
        return weather.select(list(WEATHER_SOURCE_SCHEMA))

    def days_held(self) -> tuple[date, date] | None:
        """The first and last created day of the exports' rows of any type (None: no dated row)."""
        created = pl.concat(
            [
                _read_export(path).select(_timestamp("created_date").dt.date().alias("day"))
                for path in self._export_paths()
            ]
        )["day"]
        return None if created.null_count() == created.len() else (cast(date, created.min()), cast(date, created.max()))

    def dataset_info(self) -> DatasetInfo:
        return DatasetInfo(
            name="City of Chicago 311 Service Requests (v6vf-nfxy), portal exports in a folder",
            licence="City of Chicago Data Portal terms of use",
            url=str(Path(self.folder).resolve()),
        )

    def _folder(self) -> Path:
        folder = Path(self.folder)
        if not folder.is_dir():
            raise SourceUnavailableError(
                f"The export folder {folder.resolve()} does not exist; set {_SETTING} to the "
                "folder holding the 311 exports and weather.csv."
            )
        return folder

    def _export_paths(self) -> list[Path]:
        folder = self._folder()
        paths = sorted(
            path
            for path in folder.iterdir()
            if path.is_file()
            and path.suffix.lower() in (".csv", ".json")
            and path.name.lower() != WEATHER_FILE
        )
        if not paths:
            raise SourceUnavailableError(
                f"No 311 export (*.csv or *.json other than {WEATHER_FILE}) in {folder.resolve()}; "
                f"download one from the portal or set {_SETTING}."
            )
        return paths


def _read_export(path: Path) -> pl.DataFrame:
    """One export as string columns under the SODA field names."""
    try:
        frame = pl.read_csv(path, infer_schema=False) if path.suffix.lower() == ".csv" else _json_export(path)
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise SourceUnavailableError(f"Cannot read the 311 export {path}: {exc}") from exc
    frame = frame.rename(_soda_name)
    if frame.width == 0:  # a JSON export of no rows
        return pl.DataFrame(schema={name: pl.String for name in _REQUIRED})
    lacking = set(_REQUIRED) - set(frame.columns)
    if lacking:
        raise SourceUnavailableError(
            f"{path} is not a 311 export: it has no {', '.join(sorted(lacking))} column."
        )
    return frame


def _json_export(path: Path) -> pl.DataFrame:
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError("expected a JSON list of row objects, as the SODA API exports")
    # Non-strings (booleans, numbers, the `location` object) become their JSON text, so that
    # every export is a frame of strings; `_location` reads the object back.
    texts = [
        {name: v if v is None or isinstance(v, str) else json.dumps(v) for name, v in row.items()}
        for row in rows
    ]
    if not texts:
        return pl.DataFrame()
    names = dict.fromkeys(name for row in texts for name in row)
    return pl.from_dicts(texts, schema={name: pl.String for name in names})


def _soda_name(name: str) -> str:
    """`SR_NUMBER`, `Sr Number` or `sr_number` -> `sr_number`."""
    return re.sub(r"[\s_]+", "_", name.strip().lstrip("\ufeff").strip()).lower()


def _timestamp(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.coalesce(
        text.str.strptime(pl.Datetime, fmt, strict=False) for fmt in _TIMESTAMP_FORMATS
    )


def _latest_versions(exports: pl.DataFrame) -> pl.DataFrame:
    """One row per sr_number (the latest modified, then the last read); rows without one stay."""
    modified = (
        _timestamp("last_modified_date")
        if "last_modified_date" in exports.columns
        else pl.lit(None, pl.Datetime)
    )
    exports = exports.with_columns(_modified=modified, _order=pl.int_range(pl.len()))
    latest = pl.col("_order").sort_by("_modified", "_order").last().over("sr_number")
    return exports.filter(pl.col("sr_number").is_null() | (pl.col("_order") == latest)).drop(
        "_modified", "_order"
    )


def _location(text: str | None) -> dict[str, Any] | None:
    """An export's location text -> the SODA location object's fields, as strings."""
    if text is None:
        return None
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    if match := _LAT_LON.match(text):
        return {"latitude": match[1], "longitude": match[2]}
    if match := _WKT_POINT.match(text):
        return {"latitude": match[2], "longitude": match[1]}
    return None


def _read_weather(path: Path) -> pl.DataFrame:
    try:
        raw = pl.read_csv(path, infer_schema=False)
        return raw.select(
            pl.col("day").str.strip_chars().str.to_date("%Y-%m-%d"),
            *(
                pl.col(name).str.strip_chars().cast(pl.Float64)
                if name in raw.columns or name in _OBSERVED
                else pl.lit(None, pl.Float64).alias(name)
                for name in list(WEATHER_SOURCE_SCHEMA)[1:]
            ),
        )
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceUnavailableError(
            f"Cannot read {path} (columns day,tmin_c,tmax_c,precip_mm and optionally "
            f"fc_precip_7d_mm,fc_freeze_days_7d): {exc}"
        ) from exc


def _days(days: pl.Series) -> str:
    return ", ".join(str(day) for day in days.to_list())
