"""Every `run: chicago-risk materialize ...` the product prints works exactly as printed: an asset
launched on its own (as from the Dagster UI) that lacks its history, a table read before it
exists, a model whose features changed, a publication before its layer; each hint is run as
printed with `chicago-risk materialize`, and what failed then succeeds.

Early in the data (June 2019, H3 resolution 7), where history is clipped at the data's first day.
"""

import contextlib
import io
import re
import shlex
from datetime import date, timedelta

import pytest

from chicago_risk.backfill import BackfillError, materialize_window
from chicago_risk.cli import main
from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions
from chicago_risk.instance import dagster_instance
from chicago_risk.storage.warehouse import WarehouseResource

pytestmark = pytest.mark.slow

MONDAY = date(2019, 6, 10)
HINT = re.compile(r"run: (chicago-risk materialize [^;)\n]*)")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hints")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHICAGO_RISK_DATA_DIR", str(folder / "data"))
        patch.setenv("DAGSTER_HOME", str(folder / "dagster_home"))
        patch.setenv("CHICAGO_RISK_H3_RESOLUTION", "7")
        settings = Settings.from_env()
        yield settings, build_definitions(settings), dagster_instance(settings)


def run_printed(command: str, printed: list[str], tries: int) -> None:
    """Run `command` as printed; where it fails because something further up is missing, it must
    print the command for that, which is run the same way before `command` again."""
    for _ in range(tries):
        printed.append(command)
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = main(shlex.split(command)[1:])
        if code == 0:
            return
        found = HINT.search(output.getvalue())
        assert found, f"{command} failed without a command to run: {output.getvalue()[-2000:]}"
        run_printed(found.group(1), printed, tries - 1)
    raise AssertionError(f"{command} still fails after running {printed}")


def follow_hints(attempt, printed: list[str], tries: int = 4) -> None:
    """Call `attempt` until it succeeds, running each command its failure prints."""
    for _ in range(tries):
        try:
            return attempt()
        except (BackfillError, LookupError) as error:
            found = HINT.search(str(error))
            assert found, f"no command in: {error}"
            run_printed(found.group(1), printed, tries)
    raise AssertionError(f"still failing after running {printed}")


def test_each_printed_command_works_as_printed(city):
    settings, defs, instance = city
    warehouse = WarehouseResource(path=str(settings.warehouse_path))

    def window(select: list[str], first: date, last: date):
        return lambda: materialize_window(defs, first, last, instance, select, echo=lambda _: None)

    # a table read before anything wrote it (a notebook, a bench)
    missing_table: list[str] = []
    follow_hints(lambda: warehouse.read_table("weather_daily"), missing_table)
    assert missing_table == ["chicago-risk materialize --select weather_daily"]

    # features launched alone: the 311 history they count
    history: list[str] = []
    follow_hints(window(["cell_day_features"], MONDAY, MONDAY), history)
    assert history[0] == f"chicago-risk materialize --start 2019-01-01 --end {MONDAY} --select raw_311_requests"

    # the week's model launched alone: the feature store it trains on
    store: list[str] = []
    follow_hints(window(["risk_model"], MONDAY, MONDAY), store)
    assert store and all(" --select cell_day_" in command for command in store)

    # a model trained on feature definitions that have changed since: retrain that week's
    warehouse.query("UPDATE model_registry SET feature_registry_hash = 'an older registry'")
    stale: list[str] = []
    follow_hints(window(["risk_predictions"], MONDAY, MONDAY), stale)
    # the week has no champion yet; deciding it finds no fit on the current features: train one
    sunday = MONDAY + timedelta(days=6)
    assert stale == [
        f"chicago-risk materialize --start {MONDAY} --end {sunday} --select model_champion",
        f"chicago-risk materialize --start {MONDAY} --end {MONDAY} --select risk_model,model_champion",
        f"chicago-risk materialize --start {MONDAY} --end {sunday} --select model_champion",
    ]

    # a published copy before its layer
    unpublished: list[str] = []
    day = date(2019, 6, 11)
    follow_hints(window(["published/risk_predictions"], day, day), unpublished)
    assert unpublished == [
        f"chicago-risk materialize --start {day} --end {day} --select risk_predictions,published/risk_predictions"
    ]
