"""Where the model's human-readable reports go (model cards, backtest figures)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class ReportsResource(dg.ConfigurableResource):
    """A folder for reports, `data/reports` by default (Settings.data_dir / "reports")."""

    folder: str

    def path(self, *parts: str) -> Path:
        """The folder joined with `parts`, its parent directories created."""
        target = Path(self.folder).joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, text: str, *parts: str) -> Path:
        """Write atomically: a reader never sees half a file."""
        target = self.path(*parts)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(text)
        temporary.replace(target)
        return target
