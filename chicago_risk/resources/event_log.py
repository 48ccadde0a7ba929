"""The local Dagster instance's event log: SQLite, writing a range run's materializations at once.

A single-run backfill of N daily partitions records N materialization events. Dagster's SQLite
storage writes each one in two transactions of its own (the run's database, then the cross-run
index), each on a new engine and ending in an fsync: about 15 ms an event here, so 11 of the 18 s
a two-year feature backfill takes. Dagster's Postgres storage writes such a batch in one
statement when DAGSTER_EVENT_BATCH_SIZE is set; this storage does the same for SQLite: the same
rows, in one transaction per database. `chicago_risk.cli.dagster_instance` configures it and
the batch size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._serdes import ConfigurableClassData


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage whose `store_event_batch` stores a run's asset events together."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping) -> BatchingSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        runs = {event.run_id for event in events}
        kinds = {event.dagster_event_type for event in events}
        if len(runs) != 1 or not kinds <= _BATCHED:  # anything else one by one, as Dagster does
            super().store_event_batch(events)
            return
        # What `store_event` does for each event, in one transaction per database.
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(runs.pop()) as conn:
            for statement in statements:
                conn.execute(statement)
        with self.index_transaction() as conn:
            event_ids = []
            for statement in statements:
                with db_result(conn, statement) as result:
                    event_ids.append(result.inserted_primary_key[0])
            self._store_asset_event_tags(conn, events, event_ids)
            # Each event overwrites its asset's summary row: as Postgres does, write the last only.
            last = {event.dagster_event.asset_key: (event, event_id) for event, event_id in zip(events, event_ids, strict=True)}
            for event, event_id in last.values():
                self._store_asset_event(conn, event, event_id)


# The kinds a range run batches (Dagster's Postgres storage batches the same two).
_BATCHED = {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION}
