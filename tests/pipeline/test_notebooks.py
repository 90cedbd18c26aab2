"""The report notebooks: structure, pairing with their .py, the parameter contract with run.py.

Their outputs are checked by nbval (`make test`:
``pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/``).
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from ponzoni_eval._core.reproducibility import compare_tables
from ponzoni_eval.pipeline import run as run_module
from ponzoni_eval.pipeline import verify

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
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
    per_case, cross_case = run_module.notebook_tasks(NOTEBOOKS, tmp_path, tmp_path, ["slotervaart"], {"alpha": 0.05, "seed": 1,
                                                                                              "language": "en", "before": "t0", "after": "t1"}, None)
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
    pytest.importorskip("ponzoni_eval.data.preparation")  # io and prepare come from the foundation branch
    example = Path(__file__).resolve().parents[2] / "data" / "raw" / "example"
    # Two cases: with one the run plan skips the cross-case report (nothing to compare; tests/pipeline/test_data_shapes.py).
    result = run_module.run_pipeline(example, cases=["poelenburg_a", "poelenburg_b"], out=tmp_path / "runs",
                                     processed_dir=tmp_path / "processed", notebooks_dir=NOTEBOOKS, show_progress=False)
    assert result.ok, result.failure_messages()
    assert result.manifest["dataset"]["synthetic"] is True
    case_tables = ["expectation_counts", "expectation_residuals", "expectations", "gap_means", "help_seeking", "help_seeking_fit",
                   "intercoder_agreement", "missingness", "pair_means", "perception_gap", "pre_post", "reliability", "response",
                   "sample", "theme_prevalence", "theme_prevalence_case", "wave_means", "wave_means_pooled"]
    cross_case_tables = ["change_by_case", "expectation_counts_by_case", "expectations_by_case", "help_seeking_by_case",
                         "help_seeking_sensitivity",
                         "kruskal_dunn", "marginal_means", "mixed_model", "response_by_case", "sample_by_case",
                         "theme_differences", "theme_prevalence_by_case"]
    joint_display_tables = ["fit_by_estimate", "joint_display", "meta_matrix", "results", "statistics_by_themes", "survey_sample"]
    outputs = result.manifest["outputs"]
    assert sorted(outputs["tables"]) == sorted([f"{case}-{name}" for case in ("poelenburg_a", "poelenburg_b") for name in case_tables]
                                               + cross_case_tables + joint_display_tables)
    # 8 figures per case report, 6 cross-case; 9 joint-display documents and the integration procedure (issue 18),
    # and one workbook of each report's tables at full precision (issue 15): 2 case reports, cross-case, joint display
    assert len(outputs["figures"]) == 2 * 8 + 6 and len(outputs["documents"]) == 9 + 1 + 4
    assert "integration_procedure.md" in outputs["documents"]
    published = json.loads((result.run_dir / "tables" / "poelenburg_a-theme_prevalence.json").read_text())["suppressed"]
    assert published == {"count_columns": ["n_with_code"], "threshold": 5, "derived": {"percent": "n_with_code"}}
    # A case report's sentences are in its HTML, and the joint display's quotes carry no names.
    report_html = (result.run_dir / "html" / "01_case_report-poelenburg_a.html").read_text()
    assert "Trust among migrant organisations (t0 → t2)" in report_html
    assert "Case report: Poelenburg A" in report_html and "<script" not in report_html and "import " not in report_html
    names = pd.read_parquet(tmp_path / "processed" / "redaction_terms.parquet")["term"]
    display = (result.run_dir / "documents" / "joint_display.html").read_text()
    assert "[NAAM]" in display and not [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", display)]
    assert "SYNTHETIC EXAMPLE DATA" in (result.run_dir / "html" / "01_case_report-poelenburg_a.html").read_text()


@pytest.mark.slow
def test_a_fresh_run_reproduces_the_reference_run(tmp_path, monkeypatch):
    """papermill_runs/reference (a `make run` on the example, committed) is reproduced table by table."""
    root = Path(__file__).resolve().parents[2]
    reference = root / "papermill_runs" / "reference"
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["dataset"]["synthetic"] is True
    assert {entry["status"] for entry in manifest["notebooks"]} == {"ok"} and len(manifest["notebooks"]) == 5
    assert not any((reference / folder).exists() for folder in ("notebooks", "html", "figures", "documents"))
    assert sorted(path.stem for path in (reference / "tables").glob("*.parquet")) == sorted(manifest["outputs"]["tables"])
    monkeypatch.chdir(root)  # the manifest records the data folder relative to the repository
    result = verify.verify_run(reference, jobs=2, notebooks_dir=NOTEBOOKS, keep=True)
    assert result.input_changes.empty, result.input_changes
    assert result.ok, result.differences.to_string()
    assert result.outcome in ("identical", "reproduced within tolerance")
    assert result.comparison.values["fitted"] > 1000 and result.comparison.values["closed_form"] > 1000
    assert result.comparison.legacy_tables == []  # every reference table carries its precision class

    # A deliberate change of one statistic is still found, with its table, row key and both values.
    changed = tmp_path / "changed"
    shutil.copytree(reference / "tables", changed)
    table = pd.read_parquet(changed / "mixed_model.parquet")
    target = table.index[table["effect_name"].eq("change") & table["outcome"].eq("trust")][0]
    before = table.loc[target, "effect_size"]
    table.loc[target, "effect_size"] = before * 1.001
    table.to_parquet(changed / "mixed_model.parquet")
    differences = compare_tables(changed, result.rerun_dir / "tables").differences
    (difference,) = differences.to_dict("records")
    assert (difference["table"], difference["column"], difference["kind"]) == ("mixed_model", "effect_size", "value")
    assert f"case_id={table.loc[target, 'case_id']}" in difference["row"] and "outcome=trust" in difference["row"]
    assert difference["recorded"] == repr(float(before * 1.001))
    assert float(difference["rerun"]) == pytest.approx(before, rel=1e-6)
    shutil.rmtree(result.rerun_dir.parents[1], ignore_errors=True)


def _blas_kernels() -> set[str]:
    from threadpoolctl import threadpool_info

    return {info.get("architecture") for info in threadpool_info() if info.get("internal_api") == "openblas"}


# Prescott (an old SSE3 kernel, 'Katmai' in threadpoolctl) and Haswell (AVX2, what OpenBLAS picks on
# AMD EPYC and most laptops): two kernels unlike each other and, mostly, unlike this machine's.
OTHER_KERNELS = {"Prescott": {"Katmai", "Prescott"}, "Haswell": {"Haswell"}}


@pytest.mark.slow
@pytest.mark.parametrize("kernel", sorted(OTHER_KERNELS))
def test_the_reference_run_is_reproduced_under_another_blas_kernel(tmp_path, kernel):
    """What a reviewer on another CPU sees: the reference verifies, and the platform is named as the cause."""
    if _blas_kernels() & OTHER_KERNELS[kernel]:
        pytest.skip(f"this machine runs the {kernel} kernel already; the other kernel's case covers it")
    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "OPENBLAS_CORETYPE": kernel, "COLUMNS": "80", "TMPDIR": str(tmp_path)}
    completed = subprocess.run(
        [sys.executable, "-m", "ponzoni_eval.cli", "verify", "papermill_runs/reference", "--jobs", "2"],
        cwd=root, env=environment, capture_output=True, text=True, timeout=900,
    )
    output = " ".join((completed.stdout + completed.stderr).split())
    assert completed.returncode == 0, output[-3000:]
    assert "Identical:" in output or "Reproduced within tolerance:" in output, output[-3000:]
    assert "Not reproduced" not in output
    reference_blas = json.loads((root / "papermill_runs/reference/manifest.json").read_text())["environment"]["blas"]
    assert "the platform differs" in output and "BLAS" in output, (reference_blas, output[-3000:])
