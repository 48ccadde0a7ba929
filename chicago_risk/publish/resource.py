"""The published store as a Dagster resource: its location is configuration."""

import dagster as dg

from chicago_risk.publish.store import PublishedStore


class PublishedStoreResource(dg.ConfigurableResource):
    """Where published layers go: a folder (`$CHICAGO_RISK_DATA_DIR/published` by default, see
    `chicago_risk.config.serving`), later an object-storage URL."""

    url: str
    # A replaced partition file stays this long for readers still holding the older manifest.
    retain_superseded_s: float = 600.0

    def store(self) -> PublishedStore:
        return PublishedStore(self.url, self.retain_superseded_s)
