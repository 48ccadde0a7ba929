"""Time `model_card` on a warehouse that holds a trained model and its backtest (what
`chicago-risk materialize` leaves in the data folder):

    .venv/bin/python bench/model_card.py --data-dir data [--cutoff 2026-11-30]

Materializes the card of the cutoff (default: the newest in `model_registry`) as one Dagster run
in a fresh process, with reports written to a temporary folder (the data folder's are left
alone) and the warehouse only read: wall time and peak memory, Dagster's and the code location's
imports apart (shap's, which the card step imports itself, inside). Then the SHAP figures alone,
in a second fresh process: shap's import, then `write_explanations` (sample, contributions,
both figures), each timed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _measure import measure


def card_run(warehouse_path: str, cutoff: str, reports: str) -> dict:
    """`model_card` for `cutoff` as one Dagster run (the child process of `_measure.measure`)."""
    import dagster as dg

    from chicago_risk.models.assets import model_card
    from chicago_risk.resources.reports import ReportsResource
    from chicago_risk.storage.warehouse import WarehouseResource

    resources = {"warehouse": WarehouseResource(path=warehouse_path), "reports": ReportsResource(folder=reports)}
    with dg.instance_for_test() as instance:
        result = dg.materialize([model_card], partition_key=cutoff, resources=resources, instance=instance)
    return {"card_chars": len((Path(reports) / f"model_card_{cutoff}.md").read_text()), "success": result.success}


def shap_figures_run(warehouse_path: str, cutoff: str, reports: str) -> dict:
    """shap's import, then the card's SHAP figures of the served model (the child process)."""
    import time
    from datetime import date

    from chicago_risk.config import MODEL_SETTINGS
    from chicago_risk.models.explanations import write_explanations
    from chicago_risk.models.registry import load_models_at
    from chicago_risk.storage.warehouse import WarehouseResource

    began = time.perf_counter()
    import shap  # noqa: F401  (what the card step pays once)

    import_seconds = time.perf_counter() - began
    warehouse = WarehouseResource(path=warehouse_path)
    model = load_models_at(warehouse, date.fromisoformat(cutoff))[MODEL_SETTINGS.served_kind]
    began = time.perf_counter()
    explained = write_explanations(warehouse, model, model.cutoff, Path(reports), "shap", MODEL_SETTINGS.explanations)
    return {
        "shap_import_seconds": import_seconds, "figures_seconds": time.perf_counter() - began,
        "rows": explained.rows if explained else 0,
        "png_kib": sum(p.stat().st_size for p in (Path(reports) / "shap").glob("*.png")) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--cutoff", help="a cutoff in model_registry (default: the newest)")
    args = parser.parse_args()
    warehouse_path = str(args.data_dir / "warehouse.duckdb")
    cutoff = args.cutoff
    if cutoff is None:
        from chicago_risk.models.registry import MODEL_REGISTRY
        from chicago_risk.storage.warehouse import WarehouseResource

        warehouse = WarehouseResource(path=warehouse_path)
        cutoff = str(warehouse.query(f"SELECT max(cutoff) AS c FROM {MODEL_REGISTRY}")["c"][0])
    with tempfile.TemporaryDirectory() as reports:
        card = measure("model_card", "card_run", warehouse_path, cutoff, reports,
                       preload=("dagster", "chicago_risk.definitions"))
        print(f"model_card {cutoff}: {card['seconds']:.1f} s, peak {card['peak_mib']:,.0f} MiB, "
              f"{card['card_chars']:,} characters (imports {card['import_seconds']:.1f} s apart)")
        figures = measure("model_card", "shap_figures_run", warehouse_path, cutoff, reports,
                          preload=("dagster", "chicago_risk.definitions"))
        print(f"  of which the SHAP figures: import shap {figures['shap_import_seconds']:.1f} s, "
              f"{figures['rows']:,} sampled rows + the top cell, contributions and both figures "
              f"{figures['figures_seconds']:.1f} s ({figures['png_kib']:.0f} KiB of PNG)")


if __name__ == "__main__":
    main()
