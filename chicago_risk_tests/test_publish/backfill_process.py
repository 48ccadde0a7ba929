"""Run as a separate process by the concurrency test: one single-run backfill of the map layers
(`risk_predictions` and the cost stand-ins) and their publication over the small city's days, as
generation N, into the warehouse and published store under ROOT.

    python -m chicago_risk_tests.test_publish.backfill_process ROOT N
"""

import sys
from pathlib import Path

import dagster as dg

from chicago_risk_tests.fixtures.map_layers import MAP_LAYER_ASSETS, MAP_PUBLISH, layer_resources, materialize


def main(root: str, generation: str) -> int:
    with dg.instance_for_test() as instance:
        result = materialize([*MAP_LAYER_ASSETS, *MAP_PUBLISH], layer_resources(Path(root)), instance, int(generation))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
