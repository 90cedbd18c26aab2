"""benchmarks/bench.py works: a --quick run (3 sites) prints figures and writes results.md.

No timing is asserted here: timings belong in benchmarks/results.md, not in a test.
"""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


@pytest.mark.slow
def test_bench_quick_writes_results_with_machine_and_figures(tmp_path):
    results = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--data-dir", str(tmp_path / "data"), "--results", str(results)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = results.read_text(encoding="utf-8")
    for heading in ("## Machine", "## Prepare", "## Each analysis"):
        assert heading in text
    assert "**load average**" in text and "**Python**" in text and "pandas" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert any(line.startswith("| prepare 3 sites: wall time") for line in rows)
    assert any(line.startswith("| mixed_model trust (3 sites)") for line in rows)
    # every figure was measured: a number with its unit, no "not measured" and no error
    assert rows and all("not measured" not in line and "ERROR" not in line for line in rows), text
    assert (tmp_path / "data" / "sites-3" / "survey_responses.csv").is_file()  # generated once, reused later
    assert "prepare 3 sites" in done.stdout


def test_bench_refuses_an_unknown_section(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--only", "nothing", "--results", str(tmp_path / "r.md")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "unknown section" in done.stderr
