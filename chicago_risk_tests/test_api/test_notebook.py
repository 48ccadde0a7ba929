"""`notebooks/explore.ipynb` runs top to bottom against the small published city, reading only
the published store."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from chicago_risk_tests.fixtures.small_city import LAST_DAY

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore.ipynb"


def _text(cell) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))


def test_the_notebook_runs_on_the_published_store(small_city, tmp_path, monkeypatch):
    monkeypatch.setenv("CHICAGO_RISK_PUBLISHED_URL", small_city.published_url)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline, as in Jupyter
    # The warehouse is moved away: the notebook must not need it.
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(tmp_path / "no-warehouse-here"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    outputs = "\n".join(_text(c) for c in code)
    assert f"{LAST_DAY}: 160 cells" in outputs
    assert "registry hash matches" in outputs
    assert "cell-days with a full week after them; ECE" in outputs
    assert "cell-days of" in outputs and "explained by lightgbm-" in outputs
    assert f"on {LAST_DAY}: raw score" in outputs
    images = sum("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))
    assert images == 5, "the risk map, the cell's history, the reliability diagram and two SHAP figures are drawn"
    assert not any(o.get("output_type") == "error" for c in code for o in c.get("outputs", []))
    assert not (tmp_path / "no-warehouse-here").exists()
