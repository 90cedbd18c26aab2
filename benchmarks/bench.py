"""Benchmarks of ponzoni_eval: prepare, each analysis, the end-to-end run, scaling, Dask.

Prints every figure next to its target and writes ``benchmarks/results.md``
with the machine it ran on. Run with ``make bench`` (everything, about 10-15
minutes on 2 cores) or directly::

    python benchmarks/bench.py                  # everything
    python benchmarks/bench.py --quick          # CI smoke: 3 sites only, a few seconds
    python benchmarks/bench.py --only prepare,scaling --sites 3,30

Sections (``--only``): ``prepare`` (time and peak memory at each size),
``analyses`` (each analysis at the largest size), ``scaling`` (10x the data ->
time ratio, for prepare and the cross-case analysis), ``e2e`` (``ponzoni-eval
run`` against a sequential loop of ``papermill`` CLI calls on the example
data) and ``dask`` (per-case notebooks on a LocalCluster, 2 workers vs 1).

Scaled raw data are generated once into ``benchmarks/data/sites-<n>/``
(gitignored) with ``ponzoni-eval example --sites n --interviews csv`` and
reused while the package version and seed match. Every measurement that
loads the package runs in a fresh child process, so imports, caches and
memory of one figure do not flatter the next; peak memory is the child's
maximum resident set size as the kernel reports it (``wait4``).

Timing is wall-clock on a machine that may be shared: the load average at
the start is recorded, and a figure that misses its target says why.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
DEFAULT_DATA_DIR = BENCH_DIR / "data"
DEFAULT_RESULTS = BENCH_DIR / "results.md"
EXAMPLE_DATA = ROOT / "data" / "raw" / "example"
SEED = 20170616
SECTIONS = ("prepare", "analyses", "scaling", "e2e", "dask")
DASK_SITES = 30

# Targets (issue "Performance and scale"); a figure is PASS when it is at most its target
# (at least, for the Dask speed-up).
PREPARE_SECONDS_300 = 15.0
PREPARE_PEAK_GB_300 = 4.0
CROSS_CASE_SECONDS_300 = 60.0
TEN_X_TIME_RATIO = 11.0
E2E_RATIO = 0.5
DASK_SPEEDUP = 1.8

# Kernels of a run get one BLAS thread each (ponzoni_eval.pipeline); the analyses here run the same way.
# (OpenBLAS threads on the small matrices of these models cost more than they give: reliability on
# 30 sites took 17.7 s with the default threads and 5 s with one.)
THREAD_LIMITS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# --- figures --------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured number, with its target when it has one."""

    section: str
    name: str
    value: float | None
    unit: str
    target: float | None = None
    note: str = ""
    reason_if_missed: str = ""
    at_least: bool = False
    """The target is a floor (a speed-up), not a ceiling."""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "MISS" if self.target is not None else "ERROR"
        if self.target is None:
            return ""
        met = self.value >= self.target if self.at_least else self.value <= self.target
        return "PASS" if met else "MISS"

    def shown(self) -> str:
        if self.value is None:
            return "not measured"
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if self.unit == "GB":
            return f"{self.value:.2f} GB"
        return f"{self.value:.2f} {self.unit}"

    def target_shown(self) -> str:
        if self.target is None:
            return ""
        return f"{'>=' if self.at_least else '<='} {self.target:g}{'x' if self.unit == 'x' else ' ' + self.unit}"

    def line(self) -> str:
        verdict = self.verdict
        why = f"  ({self.reason_if_missed})" if verdict == "MISS" and self.reason_if_missed else ""
        note = f"  [{self.note}]" if self.note else ""
        return f"  {self.name:<58} {self.shown():>14}  {self.target_shown():>12}  {verdict:<5}{why}{note}"


@dataclass
class Bench:
    """Options and collected figures of one invocation."""

    data_dir: Path
    results: Path
    sites: tuple[int, ...]
    sections: tuple[str, ...]
    quick: bool
    repeat: int
    figures: list[Figure] = field(default_factory=list)
    load_at_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    prepare_seconds: dict[int, float] = field(default_factory=dict)
    cross_case_seconds: dict[int, float] = field(default_factory=dict)
    part_seconds: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure


# --- child processes ------------------------------------------------------------------------


@dataclass
class ChildRun:
    seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str


def run_child(
    command: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 3600, tree_memory: bool = False
) -> ChildRun:
    """Run a command; wall time and peak resident memory.

    The peak is wait4's (the largest single process); with `tree_memory`, the
    larger of that and the largest sum over the command and all its
    descendants sampled every 50 ms (prepare redacts in a second process at
    the same time as it validates). Sampling costs a few per cent of a core,
    so timings that are compared (run vs loop) are taken without it.
    """
    import psutil

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        tree_peak, next_sample = 0, started
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            if tree_memory and time.perf_counter() >= next_sample:
                tree_peak = max(tree_peak, _tree_rss(psutil, process.pid))
                next_sample = time.perf_counter() + 0.05
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in kilobytes on Linux, bytes on macOS
        scale = 1 if sys.platform == "darwin" else 1024
        return ChildRun(seconds, max(usage.ru_maxrss * scale, tree_peak), process.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def _tree_rss(psutil: Any, pid: int) -> int:
    """Resident bytes of a process and all its descendants now (0 when it has just ended)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in processes:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def child_env(*, kernel_threads: bool = True, **extra: str) -> dict[str, str]:
    """Environment of a child: the state folders `make` uses, and one BLAS thread when `kernel_threads`.

    Analyses run as in a kernel (one thread). The commands a user types (``ponzoni-eval prepare``,
    ``ponzoni-eval run``) get the user's environment: OMP_NUM_THREADS=1 would also shrink
    pyarrow's thread pool, which reads the raw CSV files (run limits its kernels itself).
    """
    env = dict(os.environ)
    if kernel_threads:
        env.update(THREAD_LIMITS)
    state = ROOT / ".state"
    for variable, folder in (("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                             ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib")):
        env.setdefault(variable, str(state / folder))
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.update(extra)
    return env


def cli(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "ponzoni_eval.cli", *arguments]


def child_json(kind: str, *arguments: str, timeout: float = 3600) -> tuple[dict[str, Any], ChildRun]:
    """Run ``bench.py --child KIND ...``; its last stdout line is a JSON object."""
    run = run_child([sys.executable, str(Path(__file__).resolve()), "--child", kind, *arguments], env=child_env(), timeout=timeout)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        raise RuntimeError(f"child {kind} failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
    return json.loads(lines[-1]), run


# --- data -----------------------------------------------------------------------------------


def raw_data(bench: Bench, n_sites: int) -> Path:
    """``benchmarks/data/sites-<n>/``: generated once, reused while version and seed match."""
    from ponzoni_eval import __version__

    folder = bench.data_dir / f"sites-{n_sites}"
    stamp = folder / ".bench-stamp.json"
    wanted = {"n_sites": n_sites, "seed": SEED, "version": __version__, "interviews": "csv"}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"  generating {n_sites} sites into {folder} ...", flush=True)
    run = run_child(cli("example", str(folder), "--sites", str(n_sites), "--seed", str(SEED), "--interviews", "csv"), env=child_env())
    if run.returncode != 0:
        raise RuntimeError(f"could not generate {n_sites} sites: {run.stderr[-2000:]}")
    stamp.write_text(json.dumps(wanted))
    return folder


def processed_data(bench: Bench, n_sites: int) -> Path:
    return bench.data_dir / f"processed-{n_sites}"


# --- prepare ----------------------------------------------------------------------------------


def bench_prepare(bench: Bench) -> None:
    print("prepare (ponzoni-eval prepare in a child process: wall time, peak RSS)", flush=True)
    for n_sites in bench.sites:
        raw = raw_data(bench, n_sites)
        out = processed_data(bench, n_sites)
        shutil.rmtree(out, ignore_errors=True)
        runs = [run_child(cli("prepare", str(raw), "--out", str(out)), env=child_env(kernel_threads=False), tree_memory=True)
                for _ in range(bench.repeat)]
        failed = [r for r in runs if r.returncode != 0]
        if failed:
            bench.add(Figure("prepare", f"prepare {n_sites} sites", None, "s", note=failed[0].stderr.strip()[-300:]))
            continue
        seconds = statistics.median(r.seconds for r in runs)
        peak = max(r.peak_rss_bytes for r in runs) / 1e9
        bench.prepare_seconds[n_sites] = seconds
        big = n_sites == 300
        repeat_note = f"median of {len(runs)}" if len(runs) > 1 else ""
        bench.add(Figure("prepare", f"prepare {n_sites} sites: wall time (CLI, incl. start-up)", seconds, "s",
                         PREPARE_SECONDS_300 if big else None, repeat_note,
                         "reading, typing and validating ~3.4 M rows, redacting 64 M characters of transcripts in a second process meanwhile; see the load average"))
        bench.add(Figure("prepare", f"prepare {n_sites} sites: peak RSS", peak, "GB", PREPARE_PEAK_GB_300 if big else None))


# --- analyses ---------------------------------------------------------------------------------


CROSS_CASE_PARTS = ("kruskal_dunn trust", "mixed_model trust")
"""What 'the cross-case analysis' is in these figures: Kruskal-Wallis + Dunn and the mixed model of one scale."""
ITS_POOLED_TIMEOUT = 900.0
"""Seconds the pooled ITS (one NB2 model over all cases) may take before it is stopped and reported as such."""


def analyses_child(raw: Path, processed: Path, which: str) -> dict[str, Any]:
    """In a child: time each analysis on the processed tables (seconds, or an error)."""
    import warnings

    timings: dict[str, Any] = {}

    def timed(label: str, function: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numbers, not warnings, are measured here
                result = function()
        except Exception as exc:  # a failing analysis is a figure too ("error: ..."), the rest still run
            timings[label] = f"error: {type(exc).__name__}: {str(exc)[:200]}"
            return None
        timings[label] = time.perf_counter() - started
        return result

    started = time.perf_counter()
    from ponzoni_eval.qual import intercoder
    from ponzoni_eval import stats
    from ponzoni_eval.qual import quantitize
    from ponzoni_eval.stats import timeseries
    from ponzoni_eval.stats import transforms
    from ponzoni_eval.data.processed import load_processed
    from ponzoni_eval.data.validate import validate_dir

    timings["import the analysis modules"] = time.perf_counter() - started
    tables = timed("load_processed", lambda: load_processed(processed))
    if which == "its-pooled":
        monthly = transforms.monthly_activity(tables["activity_log"], tables["cases"])
        timed("ITS pooled (its_case_differences)", lambda: timeseries.its_case_differences(monthly))
        return timings
    scores = timed("score_scales", lambda: transforms.score_scales(tables["survey_responses"], tables["instrument"], tables["participants"]))
    change = transforms.change_scores(scores)
    monthly = timed("monthly_activity", lambda: transforms.monthly_activity(tables["activity_log"], tables["cases"]))
    if which == "all":
        timed("validate (raw folder)", lambda: validate_dir(raw))
        timed("reliability", lambda: stats.reliability(tables["survey_responses"], tables["instrument"], tables["participants"]))
        timed("pre_post trust", lambda: stats.pre_post(scores, outcome="trust"))
        timed("perception_gap", lambda: stats.perception_gap(scores))

        def crosstab():
            answers = transforms.item_responses(tables["survey_responses"], tables["instrument"], tables["participants"])
            answers = answers[answers["wave"] == "t0"].rename(columns={"label": "expectation"})
            return stats.expectation_crosstab(answers, by="case_id")

        timed("expectation crosstab per case", crosstab)
        timed("ITS per case", lambda: timeseries.interrupted_time_series(monthly))
        presence = timed("quantitize code_presence",
                         lambda: quantitize.code_presence(tables["coded_segments"], tables["participants"], codebook=tables["codebook"]))
        timed("quantitize prevalence", lambda: quantitize.prevalence(presence, tables["participants"]))
        timed("quantitize cooccurrence", lambda: quantitize.cooccurrence(tables["coded_segments"]))
        timed("agreement (document x code, bootstrap CI)", lambda: intercoder.agreement(tables["coded_segments"]))
    timed("kruskal_dunn trust", lambda: stats.kruskal_dunn(change, outcome="trust"))
    timed("mixed_model trust", lambda: stats.mixed_model(scores, outcome="trust"))
    return timings


def _analysis_figures(bench: Bench, section: str, n_sites: int, timings: dict[str, Any], show: bool) -> float | None:
    """Add a figure per analysis (when `show`); return the cross-case total (None when a part failed)."""
    for label, value in timings.items():
        if show:
            error = isinstance(value, str)
            bench.add(Figure(section, f"{label} ({n_sites} sites)", None if error else value, "s", note=value if error else ""))
    parts = [timings.get(part) for part in CROSS_CASE_PARTS]
    if any(not isinstance(p, float) for p in parts):
        return None
    return float(sum(parts))


def bench_analyses(bench: Bench) -> None:
    n_sites = max(bench.sites)
    print(f"analyses at {n_sites} sites (one child process, BLAS single-threaded as in the kernels)", flush=True)
    processed = _ensure_processed(bench, n_sites)
    timings, _ = child_json("analyses", str(raw_data(bench, n_sites)), str(processed), "all")
    total = _analysis_figures(bench, "analyses", n_sites, timings, show=True)
    # the pooled ITS in a child of its own, stopped after ITS_POOLED_TIMEOUT (one NB2 model of 4 x cases coefficients)
    try:
        pooled, _ = child_json("analyses", str(raw_data(bench, n_sites)), str(processed), "its-pooled", timeout=ITS_POOLED_TIMEOUT)
        seconds = pooled.get("ITS pooled (its_case_differences)")
        bench.add(Figure("analyses", f"ITS pooled (its_case_differences) ({n_sites} sites)", seconds if isinstance(seconds, float) else None,
                         "s", note="" if isinstance(seconds, float) else str(seconds)))
    except RuntimeError:
        bench.add(Figure("analyses", f"ITS pooled (its_case_differences) ({n_sites} sites)", None, "s",
                         note=f"stopped after {ITS_POOLED_TIMEOUT:.0f} s: statsmodels' NB2 fit of all 4 x {n_sites} coefficients at once"))
    bench.cross_case_seconds[n_sites] = total if total is not None else float("nan")
    bench.part_seconds[n_sites] = {part: timings.get(part) for part in CROSS_CASE_PARTS}
    bench.add(Figure("analyses", f"cross-case analysis ({' + '.join(CROSS_CASE_PARTS)}), {n_sites} sites", total, "s",
                     CROSS_CASE_SECONDS_300 if n_sites == 300 else None,
                     reason_if_missed="all-pairs comparisons grow with the square of the number of cases"))


def _ensure_processed(bench: Bench, n_sites: int) -> Path:
    processed = processed_data(bench, n_sites)
    if not (processed / "manifest.json").is_file():
        run = run_child(cli("prepare", str(raw_data(bench, n_sites)), "--out", str(processed)), env=child_env(kernel_threads=False))
        if run.returncode != 0:
            raise RuntimeError(f"prepare {n_sites} sites failed: {run.stderr[-2000:]}")
    return processed


# --- scaling ------------------------------------------------------------------------------------


def bench_scaling(bench: Bench) -> None:
    sizes = sorted(bench.sites)
    print(f"scaling: 10x the data -> time ratio ({', '.join(map(str, sizes))} sites)", flush=True)
    for n_sites in sizes:
        if n_sites not in bench.prepare_seconds:
            runs = [run_child(cli("prepare", str(raw_data(bench, n_sites)), "--out", str(processed_data(bench, n_sites))),
                              env=child_env(kernel_threads=False))
                    for _ in range(bench.repeat)]
            bench.prepare_seconds[n_sites] = statistics.median(r.seconds for r in runs)
        if n_sites not in bench.cross_case_seconds:
            timings, _ = child_json("analyses", str(raw_data(bench, n_sites)), str(_ensure_processed(bench, n_sites)), "cross-case")
            total = _analysis_figures(bench, "scaling", n_sites, timings, show=False)
            bench.cross_case_seconds[n_sites] = total if total is not None else float("nan")
            bench.part_seconds[n_sites] = {part: timings.get(part) for part in CROSS_CASE_PARTS}
        parts = ", ".join(f"{part} {seconds:.2f} s" for part, seconds in bench.part_seconds.get(n_sites, {}).items()
                          if isinstance(seconds, float))
        bench.add(Figure("scaling", f"cross-case analysis {n_sites} sites", bench.cross_case_seconds[n_sites], "s", note=parts))
    for small, large in zip(sizes, sizes[1:]):
        if large != 10 * small:
            continue
        for what, seconds, why in (
            ("prepare", bench.prepare_seconds,
             "fixed start-up (interpreter, imports: ~2 s) is most of the small run, so the ratio is below 10 at 3 -> 30"),
            ("cross-case analysis", bench.cross_case_seconds,
             "all-pairs Dunn tests and case-difference contrasts grow with the square of the number of cases "
             "(10x the sites is 100x the pairs: 435 -> 44 850); the mixed-model fit alone grows about linearly"),
        ):
            ratio = seconds[large] / seconds[small] if seconds.get(small) else None
            bench.add(Figure("scaling", f"{what}: {small} -> {large} sites time ratio", ratio, "x", TEN_X_TIME_RATIO,
                             reason_if_missed=why))
        for part in CROSS_CASE_PARTS:  # which part grows how (no target of their own)
            before, after = (bench.part_seconds.get(n, {}).get(part) for n in (small, large))
            if isinstance(before, float) and isinstance(after, float):
                bench.add(Figure("scaling", f"{part}: {small} -> {large} sites time ratio", after / before, "x"))


# --- end to end -----------------------------------------------------------------------------------


def _papermill_loop(manifest: dict[str, Any], notebooks_dir: Path, processed: Path, run_dir: Path, env: dict[str, str]) -> float:
    """The same notebooks with the same parameters, one `papermill` CLI call after the other."""
    import yaml

    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for entry in manifest["notebooks"]:
        parameters = {**entry["parameters"], "processed_dir": str(processed), "run_dir": str(run_dir)}
        command = [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3",
                   str(notebooks_dir / f"{entry['notebook']}.ipynb"), str(run_dir / f"{entry['name']}.ipynb"),
                   "-y", yaml.safe_dump(parameters)]
        result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"papermill {entry['name']} failed: {result.stderr[-2000:]}")
    return time.perf_counter() - started


def bench_e2e(bench: Bench) -> None:
    from ponzoni_eval.pipeline.run import default_notebooks_dir
    from ponzoni_eval.pipeline.environment import run_environment

    print("end to end on the example data: `ponzoni-eval run` vs a sequential loop of `papermill` CLI calls", flush=True)
    notebooks_dir = default_notebooks_dir()
    workspace = Path(tempfile.mkdtemp(prefix="ponzoni-bench-e2e-"))
    try:
        run_times: dict[bool, list[float]] = {True: [], False: []}  # prepared in the run or not
        loop_times: list[float] = []
        manifest: dict[str, Any] | None = None
        processed = workspace / "processed"

        def one_run(number: int, prepare: bool) -> None:
            nonlocal manifest
            out = workspace / f"runs-{number}"
            force = ["--force-prepare"] if prepare else []
            result = run_child(cli("run", "--data", str(EXAMPLE_DATA), "--out", str(out), "--processed", str(processed), *force),
                               env=child_env(kernel_threads=False))
            if result.returncode != 0:
                raise RuntimeError(f"ponzoni-eval run failed: {result.stderr[-2000:]}")
            if not prepare and "up to date" not in result.stderr + result.stdout:
                raise RuntimeError("the run was to find the processed data current, but prepared them")
            manifest = json.loads((out / "latest" / "manifest.json").read_text())
            run_times[prepare].append(result.seconds)

        def one_loop(number: int) -> None:
            assert manifest is not None
            # the kernels get the environment the run gives its kernels (threads, state folders, inline figures)
            with run_environment(workspace / ".state") as kernel_env:
                env = child_env(**kernel_env)
            loop_times.append(_papermill_loop(manifest, notebooks_dir, processed, workspace / f"loop-{number}", env))

        # Each repetition: a run that validates and prepares, a run that finds the processed data current
        # (where the loop starts too), a loop; the order turns round every other repetition.
        steps = [("run", True), ("run", False), ("loop", None)]
        number = 0
        for repetition in range(bench.repeat):
            for which, prepare in (steps if repetition % 2 == 0 else [steps[0], steps[2], steps[1]]):
                (one_loop(number) if which == "loop" else one_run(number, prepare))
                number += 1
        loop_s = statistics.median(loop_times)
        fresh_s, current_s = statistics.median(run_times[True]), statistics.median(run_times[False])
        n_notebooks = len(manifest["notebooks"]) if manifest else 0
        repeats = f"median of {len(loop_times)}"
        bench.add(Figure("e2e", f"ponzoni-eval run, processed data current ({n_notebooks} notebooks + HTML + index)", current_s, "s",
                         note=repeats))
        bench.add(Figure("e2e", "ponzoni-eval run --force-prepare (+ validate and prepare)", fresh_s, "s", note=repeats))
        bench.add(Figure("e2e", f"papermill CLI loop ({n_notebooks} notebooks, same parameters, processed data ready)", loop_s, "s",
                         note=repeats))
        bench.add(Figure("e2e", "ratio run / papermill loop (both start from current processed data)", current_s / loop_s, "x",
                         E2E_RATIO, reason_if_missed="on 2 cores the notebooks can at best run two at a time, and the run "
                                                     "also writes two HTML reports per notebook and the index"))
        bench.add(Figure("e2e", "ratio run --force-prepare / papermill loop (the run also validates and prepares)",
                         fresh_s / loop_s, "x", note="for information: the loop does not validate or prepare"))
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


# --- dask -----------------------------------------------------------------------------------------


def dask_child(processed: Path, workers: int, out: Path) -> dict[str, Any]:
    """In a child: the per-case notebooks on a LocalCluster with `workers` single-threaded workers."""
    from ponzoni_eval.pipeline.executors import DaskExecutor
    from ponzoni_eval.pipeline.run import default_notebooks_dir, notebook_tasks
    from ponzoni_eval.pipeline.environment import run_environment

    import pandas as pd

    cases = [str(c) for c in pd.read_parquet(processed / "cases.parquet")["case_id"]]
    run_dir = out / f"run-{workers}"
    for folder in ("notebooks", "html", "tables", "figures"):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    common = {"alpha": 0.05, "seed": SEED, "language": "en"}
    per_case, _ = notebook_tasks(default_notebooks_dir(), run_dir, processed, cases, common, 1800)
    with run_environment(out / ".state") as environment:
        executor = DaskExecutor(workers, environment)
        executor.start([CASE_NOTEBOOK_SOURCE])
        started_cluster = time.perf_counter()
        try:
            started = time.perf_counter()
            results = executor.run(per_case, lambda result: None)
            seconds = time.perf_counter() - started
        finally:
            executor.close()
    failed = [r.name for r in results if r.status != "ok"]
    return {"seconds": seconds, "notebooks": len(results), "failed": failed, "cluster_s": started - started_cluster}


CASE_NOTEBOOK_SOURCE = "01_case_report"


def bench_dask(bench: Bench) -> None:
    n_sites = DASK_SITES if not bench.quick else min(bench.sites)
    print(f"Dask: the per-case notebooks of {n_sites} sites on a LocalCluster, 2 workers vs 1", flush=True)
    processed = _ensure_processed(bench, n_sites)
    workspace = Path(tempfile.mkdtemp(prefix="ponzoni-bench-dask-"))
    try:
        serial, _ = child_json("dask", str(processed), "1", str(workspace))
        parallel, _ = child_json("dask", str(processed), "2", str(workspace))
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    for label, measured in (("1 worker", serial), ("2 workers", parallel)):
        note = f"{measured['notebooks']} notebooks" + (f"; FAILED: {', '.join(measured['failed'])}" if measured["failed"] else "")
        bench.add(Figure("dask", f"per-case notebooks, LocalCluster {label}", measured["seconds"], "s", note=note))
    speedup = serial["seconds"] / parallel["seconds"]
    bench.add(Figure("dask", "speedup 2 workers / 1 worker", speedup, "x", DASK_SPEEDUP, at_least=True,
                     note="2.0 is the most 2 workers can give",
                     reason_if_missed="2 cores also carry the scheduler, the nannies and the kernels' start-up"))


# --- machine and results.md -------------------------------------------------------------------------


def machine() -> dict[str, str]:
    import importlib.metadata

    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for package in ("ponzoni-eval", "pandas", "numpy", "scipy", "statsmodels", "pyarrow", "pandera", "papermill",
                    "nbclient", "ipykernel", "dask", "distributed"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {
        "CPU": cpu,
        "cores (logical)": str(os.cpu_count()),
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "packages": ", ".join(versions),
        "git commit": commit or "unknown",
    }


TITLES = {"prepare": "Prepare", "analyses": "Each analysis", "scaling": "Scaling (10x the data)",
          "e2e": "End to end on the example data", "dask": "Dask distributed executor"}


def write_results(bench: Bench, described: dict[str, str], started: datetime, seconds: float) -> None:
    """results.md (and results.json beside it): the sections measured now, and the others kept from earlier runs.

    A run of some sections (``--only``) replaces those sections and keeps the
    rest, each section saying when, at which commit and under which load it
    was measured; ``--quick`` writes only what it measured.
    """
    store_path = bench.results.with_suffix(".json")
    store: dict[str, Any] = {}
    if not bench.quick and store_path.is_file():
        store = json.loads(store_path.read_text(encoding="utf-8"))
    load = ", ".join(f"{x:.2f}" for x in bench.load_at_start)
    end_load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    for section in bench.sections:
        figures = [f for f in bench.figures if f.section == section]
        if figures:
            store[section] = {
                "measured": f"{started:%Y-%m-%d %H:%M} UTC",
                "commit": described.get("git commit", ""),
                "load": f"{load} at the start, {end_load} at the end of that invocation",
                "sites": list(bench.sites),
                "figures": [dataclasses.asdict(f) for f in figures],
            }
    lines = [
        "# Benchmark results",
        "",
        f"Written by `benchmarks/bench.py` ({'--quick' if bench.quick else 'sections: ' + ', '.join(bench.sections)}; "
        f"sites {', '.join(map(str, bench.sites))}) on {started:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} min.",
        "Wall-clock times on a machine shared with other work (see the load averages); every figure that loads",
        "the package runs in a fresh process. A figure is PASS when it is at most its target (at least, for the",
        "Dask speed-up); a MISS says why.",
        "",
        "## Machine",
        "",
        *[f"- **{key}**: {value}" for key, value in described.items()],
        f"- **load average** (1, 5, 15 min) at the start of this invocation: {load}; at the end: {end_load}",
        "",
    ]
    for section in SECTIONS:
        if section not in store:
            continue
        entry = store[section]
        lines += [f"## {TITLES[section]}", "",
                  f"Measured {entry['measured']} at commit {entry['commit']}; load average {entry['load']}.", "",
                  "| figure | measured | target | result | note |", "|---|---:|---:|---|---|"]
        for record in entry["figures"]:
            f = Figure(**record)
            note = "; ".join(x for x in (f.note, f.reason_if_missed if f.verdict == "MISS" else "") if x)
            lines.append(f"| {f.name} | {f.shown()} | {f.target_shown()} | {f.verdict} | {note.replace('|', '/')} |")
        lines.append("")
    bench.results.parent.mkdir(parents=True, exist_ok=True)
    bench.results.write_text("\n".join(lines), encoding="utf-8")
    if not bench.quick:
        store_path.write_text(json.dumps(store, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {bench.results}")


# --- command line -------------------------------------------------------------------------------------


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: 3 sites, prepare and analyses only (a few seconds)")
    parser.add_argument("--only", default=None, help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--sites", default=None, help="comma-separated sizes (default 3,30,300; --quick: 3)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions of the prepare and end-to-end timings (median)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where generated raw and processed data live")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="Markdown file to write")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        kind, *rest = args.child
        if kind == "analyses":
            print(json.dumps(analyses_child(Path(rest[0]), Path(rest[1]), rest[2])))
        elif kind == "dask":
            print(json.dumps(dask_child(Path(rest[0]), int(rest[1]), Path(rest[2]))))
        return 0
    sites = tuple(int(s) for s in args.sites.split(",")) if args.sites else ((3,) if args.quick else (3, 30, 300))
    sections = tuple(args.only.split(",")) if args.only else (("prepare", "analyses") if args.quick else SECTIONS)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    bench = Bench(args.data_dir.resolve(), args.results.resolve(), sites, sections, args.quick, max(1, args.repeat))
    bench.load_at_start = os.getloadavg()
    bench.data_dir.mkdir(parents=True, exist_ok=True)
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    described = machine()
    print("\n".join(f"{k}: {v}" for k, v in described.items()))
    print(f"load average at start: {bench.load_at_start}")
    steps = {"prepare": bench_prepare, "analyses": bench_analyses, "scaling": bench_scaling, "e2e": bench_e2e, "dask": bench_dask}
    for section in SECTIONS:
        if section in sections:
            try:
                steps[section](bench)
            except Exception as exc:  # one broken section must not hide the others' figures
                bench.add(Figure(section, f"{section}: could not be measured", None, "s", note=f"{type(exc).__name__}: {str(exc)[:300]}"))
    write_results(bench, described, started, time.perf_counter() - clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
