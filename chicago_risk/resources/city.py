"""The city grid as a resource, so every asset of a run uses the same H3 resolution."""

import dagster as dg
import polars as pl

from chicago_risk.grid import city_cells, city_grid


class CityGridResource(dg.ConfigurableResource):
    """Every H3 cell that overlaps the city limits, at `h3_resolution`."""

    h3_resolution: int = 9

    def cells(self) -> tuple[str, ...]:
        return city_cells(self.h3_resolution)

    def grid(self) -> pl.DataFrame:
        return city_grid(self.h3_resolution)
