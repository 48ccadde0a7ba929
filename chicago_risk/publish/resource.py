"""The published store as a Dagster resource: its location is configuration."""

import dagster as dg

from chicago_risk.publish.store import PublishedStore
from chicago_risk.storage.object_store import ObjectStoreConfig


class PublishedStoreResource(dg.ConfigurableResource):
    """Where published layers go: a folder (`$CHICAGO_RISK_DATA_DIR/published` by default, see
    `chicago_risk.config.settings`) or s3://bucket/prefix."""

    url: str
    object_store: ObjectStoreConfig = ObjectStoreConfig()
    # A superseded partition file stays this long for readers still on an older version.
    retain_superseded_s: float = 600.0

    def store(self) -> PublishedStore:
        return PublishedStore(self.url, self.retain_superseded_s, self.object_store)
