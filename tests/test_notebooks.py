"""The notebooks execute top to bottom (nbclient, the venv's python3 kernel) on small sizes."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_executes(name, tmp_path, monkeypatch):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), (
        "commit notebooks clean"
    )
    # the tour loads ../results when the default pipeline has run; point it at an empty folder so
    # the test always exercises its self-contained path (a tiny pipeline) and never reads stale results
    monkeypatch.setenv("MAXENT_RESULTS", str(tmp_path / "no-results"))
    # one BLAS thread in the kernel: multithreaded BLAS crawls on a busy shared machine
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    # "python3" resolves to this interpreter: jupyter_client launches "python" kernels with sys.executable
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 1
    assert os.environ["MAXENT_RESULTS"].endswith("no-results")
