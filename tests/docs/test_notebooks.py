"""Run every notebook in ``notebooks/`` top to bottom; any error or failed ``assert`` fails.

Each notebook runs in its own temporary working directory with a fresh kernel of the current
interpreter, so it cannot depend on files left by an earlier run. The notebooks check their
own outputs with ``assert`` cells (uplift above random, hand-computed CF scores equal to the
models', ...), so passing means the results still hold, not only that the code ran.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
#: Seconds one cell may take before the run is stopped (the slowest cell takes about a minute).
CELL_TIMEOUT = 600


def test_there_are_notebooks() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert "01_quickstart_online_retail.ipynb" in names
    assert "02_campaign_uplift_hillstrom.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        f"{path.name}: strip the outputs before committing (they are produced by this test)"
    )
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("SHOPGUIDE_DB", str(tmp_path / "unused.duckdb"))
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=dict(os.environ))
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    # nothing but the notebook's own temporary folders: no store written into the test folder
    assert not (tmp_path / "unused.duckdb").exists()
