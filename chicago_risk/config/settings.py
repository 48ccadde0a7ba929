"""Run-time settings, read from the environment once (`Settings.from_env`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SourceName = Literal["demo", "socrata", "files"]


@dataclass(frozen=True)
class Settings:
    """Run-time settings, read from the environment once."""

    data_dir: Path = Path("data")
    source: SourceName = "demo"
    h3_resolution: int = 9
    demo_seed: int = 20190101
    socrata_url: str = "https://data.cityofchicago.org"
    socrata_app_token: str | None = None
    open_meteo_forecast_url: str = "https://api.open-meteo.com"
    open_meteo_archive_url: str = "https://archive-api.open-meteo.com"
    files_dir: Path = Path("data/exports")
    writer_lock_timeout_s: float = 600.0
    # Days of map layers (predictions, cost, recommendations, publication) that `make demo` and
    # `chicago-risk materialize` without dates build, ending yesterday; the feature history their
    # models need (two years) and its 311 history (two more) come with them.
    served_days: int = 28

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def reports_dir(self) -> Path:
        """Model cards and backtest figures."""
        return self.data_dir / "reports"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("CHICAGO_RISK_DATA_DIR", "data"))
        source = env.get("CHICAGO_RISK_SOURCE", "demo")
        if source not in ("demo", "socrata", "files"):
            raise ValueError(
                f"CHICAGO_RISK_SOURCE={source!r} is not a source; use demo, socrata or files"
            )
        resolution = int(env.get("CHICAGO_RISK_H3_RESOLUTION", "9"))
        if not 5 <= resolution <= 10:
            raise ValueError(f"CHICAGO_RISK_H3_RESOLUTION={resolution} must be between 5 and 10")
        defaults = cls()
        return cls(
            data_dir=data_dir,
            source=source,  # type: ignore[arg-type]
            h3_resolution=resolution,
            demo_seed=int(env.get("CHICAGO_RISK_DEMO_SEED", defaults.demo_seed)),
            socrata_url=env.get("CHICAGO_RISK_SOCRATA_URL", defaults.socrata_url),
            socrata_app_token=env.get("CHICAGO_RISK_SOCRATA_APP_TOKEN") or None,
            open_meteo_forecast_url=env.get(
                "CHICAGO_RISK_OPEN_METEO_URL", defaults.open_meteo_forecast_url
            ),
            open_meteo_archive_url=env.get(
                "CHICAGO_RISK_OPEN_METEO_ARCHIVE_URL", defaults.open_meteo_archive_url
            ),
            files_dir=Path(env.get("CHICAGO_RISK_FILES_DIR", str(data_dir / "exports"))),
            writer_lock_timeout_s=float(env.get("CHICAGO_RISK_WRITER_LOCK_TIMEOUT_S", "600")),
            served_days=_positive_int(env, "CHICAGO_RISK_SERVED_DAYS", defaults.served_days),
        )


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name, str(default))
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name}={text!r} must be a whole number of days, at least 1")
    return int(text)
