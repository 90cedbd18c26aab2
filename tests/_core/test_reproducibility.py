"""verify's tolerance model, readable differences and the causes it names (ponzoni_eval.reproducibility)."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from ponzoni_eval.report.outputs import save_table
from ponzoni_eval._core.reproducibility import (
    CLOSED_FORM,
    FITTED,
    Tolerance,
    compare_tables,
    environment_record,
    explain_differences,
    format_number,
    notebook_code_sha256,
)
from ponzoni_eval.pipeline import verify


def result_table(**changes):
    frame = pd.DataFrame(
        {
            "case_id": ["slotervaart", "poelenburg_a"],
            "outcome": ["trust", "trust"],
            "test": ["mixed model", "mixed model"],
            "n": pd.array([14, None], dtype="Int64"),
            "p_value": [0.0031, float("nan")],
            "effect_size": [0.9, 0.0],
        }
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def tables(folder, frame, *, precision="closed_form", name="result"):
    save_table(frame, name, folder, precision=precision)
    return folder / "tables"


def test_the_same_values_are_identical(tmp_path):
    comparison = compare_tables(tables(tmp_path / "a", result_table()), tables(tmp_path / "b", result_table()))
    assert comparison.outcome == "identical" and comparison.differences.empty and comparison.largest is None
    assert comparison.tables == 1
    assert comparison.values == {"exact": 8, "closed_form": 4, "fitted": 0}


def test_rounding_noise_of_a_closed_form_value_is_within_tolerance_and_named(tmp_path):
    noisy = result_table(effect_size=[0.9 * (1 + 5e-13), 1e-17])
    comparison = compare_tables(tables(tmp_path / "a", result_table()), tables(tmp_path / "b", noisy))
    assert comparison.outcome == "reproduced within tolerance" and comparison.differences.empty
    largest = comparison.largest
    assert (largest["table"], largest["column"]) == ("result", "effect_size")
    assert largest["row"] == "case_id=slotervaart, outcome=trust, test=mixed model"
    assert largest["rel_difference"] == pytest.approx(5e-13, rel=0.01)  # half its tolerance; the 1e-17 of 0 is 1e-4 of it
    assert largest["share_of_tolerance"] == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("precision, relative, outcome", [
    ("fitted", 1e-8, "reproduced within tolerance"),   # a fit that stopped a little elsewhere
    ("fitted", 1e-5, "not reproduced"),                # beyond the fitted tolerance
    ("closed_form", 1e-8, "not reproduced"),           # a formula must not move this much
])
def test_each_precision_class_has_its_own_tolerance(tmp_path, precision, relative, outcome):
    moved = result_table(effect_size=[0.9 * (1 + relative), 0.0])
    comparison = compare_tables(tables(tmp_path / "a", result_table(), precision=precision),
                                tables(tmp_path / "b", moved, precision=precision))
    assert comparison.outcome == outcome
    assert comparison.values[precision] == 4


def test_a_changed_statistic_is_reported_with_table_key_and_both_values(tmp_path):
    recorded = result_table(effect_size=[0.7312, 0.0])
    changed = result_table(effect_size=[0.7408, 0.0])  # e.g. another number of bootstrap resamples
    comparison = compare_tables(tables(tmp_path / "a", recorded, precision="fitted"),
                                tables(tmp_path / "b", changed, precision="fitted"))
    assert comparison.outcome == "not reproduced"
    (row,) = comparison.differences.to_dict("records")
    assert row["table"] == "result" and row["column"] == "effect_size" and row["kind"] == "value"
    assert row["row"] == "case_id=slotervaart, outcome=trust, test=mixed model"
    assert (row["recorded"], row["rerun"]) == ("0.7312", "0.7408")  # plain numbers, not np.float64(...)
    assert row["rel_difference"] == pytest.approx(0.0096 / 0.7408)
    assert row["tolerance"] == FITTED.describe()


@pytest.mark.parametrize("changes, column, recorded, rerun", [
    ({"p_value": [0.0031, 0.5]}, "p_value", "missing", "0.5"),          # missing became a number
    ({"n": pd.array([15, None], dtype="Int64")}, "n", "14", "15"),     # counts must match exactly
    ({"n": pd.array([14, 0], dtype="Int64")}, "n", "missing", "0"),    # missing is not zero
    ({"case_id": ["slotervaart", "poelenburg_b"]}, "case_id", "poelenburg_a", "poelenburg_b"),
])
def test_exact_columns_must_be_equal(tmp_path, changes, column, recorded, rerun):
    comparison = compare_tables(tables(tmp_path / "a", result_table(), precision="fitted"),
                                tables(tmp_path / "b", result_table(**changes), precision="fitted"))
    (row,) = comparison.differences.to_dict("records")
    assert (row["column"], row["recorded"], row["rerun"], row["tolerance"]) == (column, recorded, rerun,
                                                                                 "exact" if column != "p_value" else FITTED.describe())


def test_rows_without_a_unique_key_are_named_by_position(tmp_path):
    recorded = pd.DataFrame({"role": ["parent", "parent"], "value": [1.0, 2.0]})
    changed = pd.DataFrame({"role": ["parent", "parent"], "value": [1.0, 2.5]})
    comparison = compare_tables(tables(tmp_path / "a", recorded), tables(tmp_path / "b", changed))
    assert comparison.differences["row"].tolist() == ["role=parent (row 2)"]
    keyless = compare_tables(tables(tmp_path / "c", pd.DataFrame({"x": [1.0]})), tables(tmp_path / "d", pd.DataFrame({"x": [2.0]})))
    assert keyless.differences["row"].tolist() == ["row 1"]


def test_missing_extra_and_reshaped_tables_are_found(tmp_path):
    recorded = tables(tmp_path / "a", result_table())
    save_table(result_table(), "only_recorded", tmp_path / "a")
    rerun = tables(tmp_path / "b", result_table().drop(columns="effect_size"))
    save_table(result_table(), "only_rerun", tmp_path / "b")
    shorter = tables(tmp_path / "c", result_table().iloc[:1])
    floats_as_text = tables(tmp_path / "d", result_table(p_value=["0.0031", None]))

    kinds = compare_tables(recorded, rerun).differences.set_index("table")["kind"].to_dict()
    assert kinds == {"only_recorded": "missing_table", "only_rerun": "extra_table", "result": "columns"}
    assert compare_tables(recorded, shorter).differences["kind"].tolist() == ["missing_table", "rows"]
    assert "dtype" in compare_tables(recorded, floats_as_text).differences["kind"].tolist()


def test_a_table_recorded_without_precision_is_compared_as_fitted(tmp_path):
    recorded = tables(tmp_path / "a", result_table())
    meta = json.loads((recorded / "result.json").read_text())
    del meta["precision"]
    (recorded / "result.json").write_text(json.dumps(meta))
    moved = tables(tmp_path / "b", result_table(effect_size=[0.9 * (1 + 1e-8), 0.0]))
    comparison = compare_tables(recorded, moved)
    assert comparison.outcome == "reproduced within tolerance" and comparison.legacy_tables == ["result"]


def test_save_table_refuses_an_unknown_precision(tmp_path):
    with pytest.raises(ValueError, match="precision must be one of closed_form, fitted"):
        save_table(result_table(), "result", tmp_path, precision="approximate")


def test_tolerances_are_checked():
    with pytest.raises(ValueError, match="rtol must be a finite number"):
        Tolerance(rtol=-1, atol=0)
    assert CLOSED_FORM.rtol < FITTED.rtol


@pytest.mark.parametrize("value, text", [
    (np.float64(0.24123456789), "0.24123456789"), (np.int64(7), "7"), (float("nan"), "missing"), (None, "missing"),
    (pd.NA, "missing"), ("trust", "trust"), (True, "True"), (1e-300, "1e-300"),
])
def test_numbers_print_plainly(value, text):
    assert format_number(value) == text


def manifest(**changes):
    base = {
        "environment": {"python": "3.11.7", "platform": "Linux-6", "cpu": "Intel Xeon", "threads": {"OPENBLAS_NUM_THREADS": "1"},
                        "blas": [{"internal_api": "openblas", "version": "0.3.31", "architecture": "SkylakeX"}],
                        "packages": {"numpy": "2.4.6"}, "lock_sha256": "a" * 64},
        "git": {"commit": "1" * 40, "dirty": False, "sources_sha256": "b" * 64},
        "inputs": {"notebook_code": {"02_cross_case.ipynb": "c1"}, "processed": {"cases.parquet": "p1"}},
    }
    for path, value in changes.items():
        section, key = path.split("__")
        base[section] = {**base[section], key: value}
    return base


def test_no_cause_is_named_when_nothing_differs():
    assert explain_differences(manifest(), manifest()) == []


@pytest.mark.parametrize("changes, expected", [
    ({"environment__cpu": "AMD EPYC"}, "the platform differs (CPU Intel Xeon -> AMD EPYC)"),
    ({"environment__blas": [{"internal_api": "openblas", "version": "0.3.31", "architecture": "Haswell"}]},
     "the platform differs (BLAS kernel SkylakeX -> Haswell)"),
    ({"environment__blas": [{"internal_api": "mkl", "version": "2025.1", "architecture": "avx2"}]},
     "BLAS openblas 0.3.31 kernel SkylakeX -> mkl 2025.1 kernel avx2"),
    ({"environment__packages": {"numpy": "2.5.0"}}, "package versions differ: numpy 2.4.6 -> 2.5.0"),
    ({"environment__lock_sha256": "d" * 64}, "the lock file (uv.lock) differs"),
    ({"git__commit": "2" * 40}, "another git commit: 111111111111 recorded, 222222222222 now"),
    ({"git__dirty": True}, "the code now has uncommitted changes (package sources sha256 bbbbbbbbbbbb)"),
    ({"inputs__notebook_code": {"02_cross_case.ipynb": "c2"}}, "code cells of these report notebooks differ from the recorded run's: 02_cross_case.ipynb"),
    ({"inputs__processed": {"cases.parquet": "p2"}}, "prepare wrote different processed files: cases.parquet"),
])
def test_each_cause_of_a_difference_is_named(changes, expected):
    notes = explain_differences(manifest(), manifest(**changes))
    assert len(notes) == 1 and expected in notes[0], notes


def test_a_recorded_dirty_tree_is_named():
    notes = explain_differences(manifest(git__dirty=True), manifest())
    assert notes == ["the recorded run was made from a working tree with uncommitted changes (package sources sha256 bbbbbbbbbbbb)"]


def test_notebook_code_hash_ignores_stored_outputs(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(notebook, tmp_path / "a.ipynb")
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="1.7720000001\n")]
    notebook.cells[1].execution_count = 3
    nbformat.write(notebook, tmp_path / "b.ipynb")
    notebook.cells[1].source = "x = 2"
    nbformat.write(notebook, tmp_path / "c.ipynb")
    a, b, c = (notebook_code_sha256(tmp_path / f"{n}.ipynb") for n in "abc")
    assert a == b != c


def test_the_environment_record_names_cpu_blas_threads_and_lock():
    record = environment_record({"numpy": "2.4.6"}, kernel_environment={"OPENBLAS_NUM_THREADS": "1", "HOME": "/root"})
    assert record["cpu"] and record["threads"] == {"OPENBLAS_NUM_THREADS": "1"}
    assert any(lib["internal_api"] == "openblas" and lib["architecture"] for lib in record["blas"])
    assert record["lock_sha256"] and len(record["lock_sha256"]) == 64


def verify_result(tmp_path, differences, comparison, warnings=()):
    return verify.VerifyResult(tmp_path / "reference", tmp_path / "rerun", pd.DataFrame(columns=["file", "change"]),
                                   differences, list(warnings), comparison, 9)


def printed(result) -> str:
    buffer = io.StringIO()
    verify._print_verify_summary(result, Console(file=buffer, width=80, color_system=None))  # piped, 80 columns
    return buffer.getvalue()


def test_the_summary_of_a_difference_is_readable_at_80_columns(tmp_path):
    long_name = "help_seeking_by_case_and_month_with_counterfactual"
    recorded = result_table(effect_size=[0.7312, 0.0])
    comparison = compare_tables(tables(tmp_path / "a", recorded, name=long_name),
                                tables(tmp_path / "b", result_table(effect_size=[0.7408, 0.0]), name=long_name))
    text = printed(verify_result(tmp_path, comparison.differences, comparison,
                                 ["the platform differs (CPU Intel Xeon -> AMD EPYC)"]))
    flat = " ".join(text.split())
    assert "Not reproduced: 1 difference(s)" in flat
    assert f"- {long_name}.effect_size (case_id=slotervaart, outcome=trust, test=mixed model): value" in flat
    assert "recorded 0.7312, re-run 0.7408 (relative difference 1.3e-02; allowed relative 1e-12 or absolute 1e-13)" in flat
    assert "Note: the platform differs (CPU Intel Xeon -> AMD EPYC)" in flat
    assert "np.float64" not in text and "…" not in text  # nothing cut


def test_the_summary_of_a_success_says_what_was_compared(tmp_path):
    noisy = result_table(effect_size=[0.9 * (1 + 1e-9), 0.0])
    comparison = compare_tables(tables(tmp_path / "a", result_table(), precision="fitted"), tables(tmp_path / "b", noisy, precision="fitted"))
    flat = " ".join(printed(verify_result(tmp_path, comparison.differences, comparison)).split())
    assert flat.startswith("Reproduced within tolerance: reference. 1 tables, 12 values compared (8 exactly, "
                           "0 closed-form at relative 1e-12 or absolute 1e-13, 4 from fits at relative 1e-06 or absolute 1e-09); "
                           "9 raw input files match their recorded checksums. Largest difference: relative 1.0e-09 (absolute 9.0e-10, "
                           "0.1% of the tolerance) in "
                           "result.effect_size (case_id=slotervaart, outcome=trust, test=mixed model): 0.9 recorded, 0.9000000009000001 re-run."), flat
