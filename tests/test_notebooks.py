"""The report notebooks: structure, pairing with their .py, the parameter contract with run.py.

Their outputs are checked by nbval (`make test`:
``pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/``).
"""

import ast
import json
from pathlib import Path

import nbformat
import pytest

from ponzoni_eval import run as run_module

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = [run_module.CASE_NOTEBOOK, *run_module.CROSS_CASE_NOTEBOOKS]
PARAMETERS = {"case_id", "processed_dir", "run_dir", "alpha", "seed", "language"}


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_and_its_script_hold_the_same_cells(name):
    import jupytext

    stored = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    script = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in script.cells], (
        f"{name}.py and {name}.ipynb differ: run `jupytext --sync notebooks/{name}.py`"
    )
    assert stored.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert stored.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_opens_with_title_question_inputs_then_parameters(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    first, second = notebook.cells[0], notebook.cells[1]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "**Question.**" in first.source and "**Inputs.**" in first.source
    assert second.metadata.get("tags") == ["parameters"]
    defined = {target.id for node in ast.parse(second.source).body for target in node.targets}
    assert PARAMETERS <= defined


def test_notebooks_accept_every_parameter_the_run_passes(tmp_path):
    per_case, cross_case = run_module._tasks(NOTEBOOKS, tmp_path, tmp_path, ["slotervaart"], {"alpha": 0.05, "seed": 1,
                                                                                              "language": "en"}, None)
    for task in per_case + cross_case:
        parameters_cell = nbformat.read(task.source, as_version=4).cells[1]
        defined = {target.id for node in ast.parse(parameters_cell.source).body for target in node.targets}
        assert set(task.parameters) <= defined, (task.notebook, set(task.parameters) - defined)


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_never_read_raw_data_and_store_checked_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for cell in code_cells(notebook):
        assert "data/raw" not in cell.source
        assert not [o for o in cell.get("outputs", []) if o.output_type == "error"]
    checked = [cell for cell in code_cells(notebook) if "# NBVAL_CHECK_OUTPUT" in cell.source]
    assert checked and all(cell.outputs for cell in checked), "re-execute with `make notebooks`"
    assert "SYNTHETIC EXAMPLE DATA" in json.dumps(checked[0].outputs)


@pytest.mark.slow
def test_the_report_notebooks_run_on_the_example_data(tmp_path):
    pytest.importorskip("ponzoni_eval.prepare")  # io and prepare come from the foundation branch
    example = Path(__file__).resolve().parents[1] / "data" / "raw" / "example"
    result = run_module.run_pipeline(example, cases=["poelenburg_a"], out=tmp_path / "runs",
                                     processed_dir=tmp_path / "processed", notebooks_dir=NOTEBOOKS, show_progress=False)
    assert result.ok, result.failure_messages()
    assert result.manifest["dataset"]["synthetic"] is True
    assert sorted(result.manifest["outputs"]["tables"]) == [
        "poelenburg_a-missingness", "poelenburg_a-response", "poelenburg_a-sample",
        "response_by_case", "sample_by_case", "survey_sample",
    ]
    assert "SYNTHETIC EXAMPLE DATA" in (result.run_dir / "html" / "01_case_report-poelenburg_a.html").read_text()
