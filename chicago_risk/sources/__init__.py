"""Where chicago-risk's data comes from, behind one `RequestSource`/`WeatherSource` pair.

- `base`: the two interfaces every source implements, `DatasetInfo`, `SourceUnavailableError`;
- `demo_city`: the deterministic synthetic Chicago (the default; no network, no keys);
- `socrata`: the city's live 311 dataset (SODA API); `soda`: the SODA row shape both live and
  demo rows share;
- `open_meteo`: Open-Meteo's archive, forecast and historical forecast APIs;
- `files`: a folder of portal exports;
- `http_client`: the GET-with-retries and circuit breaker the live clients share.

`build_sources` binds the pair to `CHICAGO_RISK_SOURCE`, so asset code never changes with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chicago_risk.sources.base import RequestSource, WeatherSource

if TYPE_CHECKING:
    from chicago_risk.config import Settings


def build_sources(settings: Settings) -> tuple[RequestSource, WeatherSource]:
    """The 311 and weather sources `settings.source` names (modules imported only when chosen)."""
    if settings.source == "demo":
        from chicago_risk.sources.demo_city import DemoCitySource

        city = DemoCitySource(seed=settings.demo_seed, h3_resolution=settings.h3_resolution)
        return city, city
    if settings.source == "socrata":
        from chicago_risk.sources.open_meteo import OpenMeteoSource
        from chicago_risk.sources.socrata import SocrataSource

        return (
            # The token reaches the resource as an EnvVar: the Dagster UI shows its name, never its value.
            SocrataSource(base_url=settings.socrata_url, app_token=settings.resource_secret("socrata_app_token")),
            OpenMeteoSource(
                forecast_url=settings.open_meteo_forecast_url,
                archive_url=settings.open_meteo_archive_url,
                historical_forecast_url=settings.open_meteo_historical_forecast_url,
            ),
        )
    from chicago_risk.sources.files import FilesSource

    files = FilesSource(folder=str(settings.files_dir))
    return files, files
