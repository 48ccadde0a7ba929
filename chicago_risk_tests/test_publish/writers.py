"""Publishers run in spawned processes by the store tests (kept apart so a child imports little)."""

import polars as pl

from chicago_risk.publish.store import PublishedStore

DAY = "2024-05-13"
ROWS = 5_000


def frame(generation: int) -> pl.DataFrame:
    return pl.DataFrame({"h3_id": [f"cell-{i}" for i in range(ROWS)], "generation": [generation] * ROWS})


def publish_days(url: str, days: list[str]) -> None:
    store = PublishedStore(url)
    for day in days:
        store.publish("layer", [(day, frame(1).head(10))], 9, "v")


def republish(url: str, generations: int) -> None:
    """Generations 2 .. generations + 1 of DAY, one publication each."""
    store = PublishedStore(url, retain_superseded_s=3600)
    for generation in range(2, generations + 2):
        store.publish("layer", [(DAY, frame(generation))], 9, "v")
