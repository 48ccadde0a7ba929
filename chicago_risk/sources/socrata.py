"""The city's live 311 requests, read from the Socrata SODA API (dataset v6vf-nfxy)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import httpx
import polars as pl

from chicago_risk.config import LIVE_CLIENTS, SOCRATA_DATASET
from chicago_risk.sources.base import (
    DatasetInfo,
    RequestSource,
    SourceUnavailableError,
)
from chicago_risk.sources.http_client import Upstream, get_json
from chicago_risk.sources.soda import empty_soda_frame, soda_frame

TYPES_SCHEMA: dict[str, pl.DataType] = {
    "sr_type": pl.String(),
    "sr_short_code": pl.String(),
    "requests": pl.Int64(),
}


class SocrataSource(RequestSource):
    """311 requests from the City of Chicago Data Portal, paged with SoQL."""

    base_url: str
    app_token: str | None = None
    page_size: int = 50_000
    max_retries: int = LIVE_CLIENTS.max_retries
    backoff_s: float = LIVE_CLIENTS.backoff_s
    timeout_s: float = 60.0
    breaker_failures: int = LIVE_CLIENTS.breaker_failures
    breaker_reset_s: float = LIVE_CLIENTS.breaker_reset_s

    def fetch_requests(self, start: date, end: date, sr_types: tuple[str, ...]) -> pl.DataFrame:
        if not sr_types:
            return empty_soda_frame()
        types = ", ".join(_soql_string(sr_type) for sr_type in sr_types)
        where = (
            f"created_date >= {_soql_midnight(start)} "
            f"AND created_date < {_soql_midnight(end + timedelta(days=1))} "
            f"AND sr_type in ({types})"
        )
        # Rows go through untouched: normalisation, not the client, decides what is usable.
        return soda_frame(self._all_rows({"$where": where, "$order": "created_date,sr_number"}))

    def discover_types(self, since: date) -> pl.DataFrame:
        """Every request type created since `since`, with its volume, most frequent first."""
        rows = self._all_rows(
            {
                "$select": "sr_type,sr_short_code,count(*) as requests",
                "$group": "sr_type,sr_short_code",
                "$where": f"created_date >= {_soql_midnight(since)}",
                # The tie-breakers keep $offset paging stable between equal counts.
                "$order": "requests DESC,sr_type,sr_short_code",
            }
        )
        columns = {name: [row.get(name) for row in rows] for name in TYPES_SCHEMA}
        return (
            pl.DataFrame(columns, schema={name: pl.String() for name in TYPES_SCHEMA})
            # SODA sends counts as strings. The ignore: polars types cast()'s mapping keys as invariant
            # `str | Selector | DataType`, so it refuses the dict[str, DataType] it handles at run time.
            .cast(TYPES_SCHEMA)  # type: ignore[arg-type]
            .sort("requests", descending=True, maintain_order=True)
        )

    def dataset_info(self) -> DatasetInfo:
        return DatasetInfo(
            name=f"City of Chicago 311 Service Requests ({SOCRATA_DATASET})",
            licence="City of Chicago Data Portal terms of use",
            url=f"{self.base_url.rstrip('/')}/d/{SOCRATA_DATASET}",
        )

    def _all_rows(self, query: Mapping[str, str]) -> list[Mapping[str, Any]]:
        """Pages of the query until a short page; the query's $order keeps the pages disjoint."""
        url = f"{self.base_url.rstrip('/')}/resource/{SOCRATA_DATASET}.json"
        headers = {"X-App-Token": self.app_token} if self.app_token else {}
        upstream = Upstream(
            name=f"Socrata ({SOCRATA_DATASET})",
            settings="CHICAGO_RISK_SOCRATA_URL and CHICAGO_RISK_SOCRATA_APP_TOKEN",
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
            breaker_failures=self.breaker_failures,
            breaker_reset_s=self.breaker_reset_s,
        )
        rows: list[Mapping[str, Any]] = []
        with httpx.Client(timeout=self.timeout_s, headers=headers) as client:
            while True:
                params: dict[str, str | int] = {**query, "$limit": self.page_size, "$offset": len(rows)}
                page = get_json(client, url, params, upstream)
                if not isinstance(page, list) or not all(isinstance(r, Mapping) for r in page):
                    raise SourceUnavailableError(
                        f"Socrata answered {url} with something other than a list of rows: "
                        f"{str(page)[:300]}. Check CHICAGO_RISK_SOCRATA_URL."
                    )
                rows.extend(page)
                if len(page) < self.page_size:
                    return rows


def _soql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _soql_midnight(day: date) -> str:
    """Midnight starting `day` as a SoQL floating timestamp (local Chicago time, like the data)."""
    return f"'{day.isoformat()}T00:00:00'"
