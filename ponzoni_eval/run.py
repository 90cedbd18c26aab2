"""Run every report in one go, leave a run folder a reviewer can trust, and verify it.

`run_pipeline` prepares the processed tables from the raw data, executes the
parameterised notebooks with papermill in one stage, ``jobs`` at a time (the
cross-case report and the joint display first, then the per-case report once
per case: the cross-case notebooks read the processed tables, not the case
reports' outputs) and writes one folder per run::

    papermill_runs/<YYYYmmdd-HHMMSS>-<input hash>/
        INCOMPLETE          present until the run has finished (an interrupted run keeps it)
        manifest.json       what ran, on which inputs, with which versions, and how it went
        index.html          links to every report, table and figure
        notebooks/          executed notebooks (with the error, when one failed)
        html/               each report twice: <name>.html without code (evaluators),
                            <name>-code.html with code (students)
        tables/             result tables: CSV + parquet + a JSON sidecar each
        figures/            figures: PNG + SVG + a JSON sidecar (caption = alt text) each
        outputs.json        the registry of tables and figures
    papermill_runs/latest   symlink (or a one-line text file) to the newest finished run

`verify_run` re-runs a recorded run with the recorded parameters on the same
inputs (their checksums must match) and compares every result table by the
tolerance model of `ponzoni_eval.reproducibility` (exact columns equal,
closed-form numbers to 1e-12, values from iterative fits to 1e-6 relative);
it says identical, reproduced within tolerance or not reproduced. It needs only ``manifest.json`` and ``tables/``, so it also
works on a committed reference run without notebooks.

Execution is behind a small interface (`Executor`): ``start`` (before prepare,
to get kernels or a cluster ready), then a list of picklable `NotebookTask`\\ s
in, one `NotebookResult` per task out, through the plain function
`execute_notebook_task`, then ``close``. `LocalExecutor` drives local kernels
from threads, each started ahead of need with its notebook's imports done;
`DaskExecutor` maps the same function over a Dask cluster (docs/scaling.md).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Protocol, Sequence

from .errors import DataError
from .fingerprint import code_fingerprint, folder_checksums, is_current, sha256_file
from .report import OUTPUTS_FILE, TABLES_DIR, _atomic_write_bytes, _json_bytes, collect_outputs, is_synthetic
from .reproducibility import (
    CLOSED_FORM,
    DIFFERENCE_COLUMNS,
    FITTED,
    NOT_REPRODUCED,
    Comparison,
    Tolerance,
    compare_tables,
    environment_record,
    explain_differences,
    notebook_code_sha256,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from rich.console import Console

__all__ = [
    "run_pipeline",
    "verify_run",
    "compare_tables",
    "RunResult",
    "VerifyResult",
    "NotebookTask",
    "NotebookResult",
    "Executor",
    "LocalExecutor",
    "execute_notebook_task",
    "resolve_run_dir",
    "CASE_NOTEBOOK",
    "CROSS_CASE_NOTEBOOKS",
    "LANGUAGES",
]

CASE_NOTEBOOK = "01_case_report"
"""Executed once per case."""
CROSS_CASE_NOTEBOOKS = ("02_cross_case", "03_joint_display")
"""Executed once per run, after the case reports, side by side."""
LANGUAGES = ("en", "nl")
DEFAULT_SEED = 20170616

MANIFEST_FILE = "manifest.json"
INCOMPLETE_MARKER = "INCOMPLETE"
LATEST = "latest"
MANIFEST_FORMAT = 1

KEY_PACKAGES = (
    "ponzoni-eval",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pingouin",
    "scikit-posthocs",
    "krippendorff",
    "pandera",
    "pyarrow",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbformat",
    "ipykernel",
    "jupytext",
)
"""Packages whose versions are recorded in every run manifest."""

# Fields of a manifest that differ between two runs of the same inputs by design.
VOLATILE_MANIFEST_KEYS = frozenset({"run_id", "started", "finished", "duration_s"})

# One BLAS/OpenMP thread per kernel: with several kernels side by side, more threads only compete
# for the same cores (and thread counts can change the last bits of float sums).
_THREAD_LIMITS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}
_STATE_VARIABLES = {
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "JUPYTER_DATA_DIR": "jupyter-data",
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
}


# --- paths and checksums --------------------------------------------------------------


def _default_notebooks_dir() -> Path:
    """``notebooks/`` of the source tree this package runs from, else of the working folder."""
    beside_package = Path(__file__).resolve().parents[1] / "notebooks"
    return beside_package if beside_package.is_dir() else Path.cwd() / "notebooks"


def _recorded_path(path: Path) -> str:
    """A path as the manifest keeps it: relative to the working folder when inside it (portable)."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def _now() -> datetime:
    return datetime.now().astimezone()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# --- notebook tasks and executors -------------------------------------------------------


@dataclass(frozen=True)
class NotebookTask:
    """One notebook to execute: where from, where to, with which parameters.

    Plain data (strings, numbers, a dict) so it can be pickled to another
    process or machine.
    """

    name: str
    """Name of the executed report, e.g. ``01_case_report-slotervaart``."""
    notebook: str
    """The source notebook's name, e.g. ``01_case_report``."""
    source: str
    output: str
    html_report: str
    html_code: str
    parameters: dict[str, Any]
    case_id: str | None = None
    cell_timeout: float | None = None


@dataclass(frozen=True)
class NotebookResult:
    """How one notebook run went. ``error`` is ``None`` on success."""

    name: str
    status: str  # "ok" or "failed"
    duration_s: float
    error: dict[str, Any] | None = None


def _parameters_cell_index(source: str) -> int | None:
    import nbformat

    notebook = nbformat.read(source, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return index
    return None


def _error_record(task: NotebookTask, exc: BaseException) -> dict[str, Any]:
    """What the manifest says about a failure: cell (in the source notebook), In [n], error name and text."""
    from papermill.exceptions import PapermillExecutionError

    if not isinstance(exc, PapermillExecutionError):
        return {"cell_index": None, "execution_count": None, "ename": type(exc).__name__, "evalue": str(exc)[:2000]}
    cell_index = exc.cell_index
    parameters_cell = _parameters_cell_index(task.source)
    # papermill injects one cell after the parameters cell; count cells as in the source notebook.
    if parameters_cell is not None and task.parameters and cell_index > parameters_cell:
        cell_index -= 1
    first_line = next((line for line in str(exc.source).splitlines() if line.strip()), "")
    return {
        "cell_index": cell_index,
        "execution_count": exc.exec_count,
        "ename": exc.ename,
        "evalue": str(exc.evalue)[:2000],
        "cell_first_line": first_line[:200],
    }


_exporters: dict[bool, Any] = {}
_exporters_lock = threading.Lock()


def _html_exporter(with_code: bool):
    """The process's HTML exporter with or without code; use it while holding `_exporters_lock`.

    Created once and reused: an exporter compiles its templates on first use,
    which took 0.3 s of the 0.35 s a conversion took; later conversions take
    about 0.05 s, so converting one notebook at a time costs little.
    """
    from nbconvert import HTMLExporter

    if with_code not in _exporters:
        exporter = HTMLExporter(template_name="lab")
        exporter.exclude_input = not with_code
        exporter.exclude_input_prompt = not with_code
        exporter.exclude_output_prompt = not with_code
        _exporters[with_code] = exporter
    return _exporters[with_code]


def _warm_html_exporters() -> None:
    """Compile both exporters' templates now (on a thread, while the data are prepared)."""
    import nbformat

    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm-up"), nbformat.v4.new_code_cell("1")])
    try:
        with _exporters_lock:
            for with_code in (False, True):
                _html_exporter(with_code).from_notebook_node(empty, resources={"metadata": {"name": "warm-up"}})
    except Exception:  # the real export will raise (and be recorded) if something is wrong
        pass


def _export_html(task: NotebookTask) -> None:
    """The executed notebook as HTML, once without code (evaluators) and once with (students)."""
    import nbformat

    notebook = nbformat.read(task.output, as_version=4)
    for target, with_code in ((task.html_report, False), (task.html_code, True)):
        with _exporters_lock:
            body, _ = _html_exporter(with_code).from_notebook_node(notebook, resources={"metadata": {"name": task.name}})
        _atomic_write_bytes(Path(target), body.encode("utf-8"))


def _kernel_options() -> dict[str, Any]:
    """How kernels are started, for papermill and nbclient alike."""
    from traitlets.config import Config

    return {
        # Encrypt kernel traffic (CurveZMQ) where the kernel supports it: the notebooks carry
        # participants' data, and plain TCP on localhost is readable by other users of the machine.
        "config": Config({"KernelManager": {"transport_encryption": "auto"}}),
        # The kernel's own log (not cell output) says "KeyboardInterrupt caught in kernel" when
        # jupyter_client interrupts it at shutdown; evaluators should not see that on a good run.
        "extra_arguments": ["--IPKernelApp.log_level=CRITICAL"],
    }


def notebook_imports(source: str | os.PathLike) -> list[str]:
    """Modules a notebook imports at the top level of its code cells, in order of first import.

    ``from package import name`` lists ``package`` and ``package.name`` (the
    latter is only imported when it is a module). Imports inside functions,
    ``if`` or ``try`` blocks, and cells that are not plain Python (magics),
    are left out: a warm kernel imports only what the notebook surely will.
    """
    import ast

    import nbformat

    modules: dict[str, None] = {}
    for cell in nbformat.read(str(source), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics or shell escapes
            continue
        for statement in tree.body:
            if isinstance(statement, ast.Import):
                modules.update(dict.fromkeys(alias.name for alias in statement.names))
            elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
                modules[statement.module] = None
                modules.update(dict.fromkeys(f"{statement.module}.{alias.name}" for alias in statement.names if alias.name != "*"))
    return list(modules)


_WARM_UP_CODE = """\
def __ponzoni_warm_up(names):
    import importlib
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # not a module (an imported name), or broken: the notebook itself will say so
            pass
__ponzoni_warm_up({names!r})
del __ponzoni_warm_up
"""


_KERNEL_MANAGER_CLASS: Any = None


def _kernel_manager_class() -> Any:
    """jupyter_client's AsyncKernelManager, remembering the clients it hands out.

    nbclient stops the channels of its kernel client only for kernels it
    started itself; for a kernel handed to it, `_release_clients` does that
    after the notebook has run (open channels would leak sockets).
    """
    global _KERNEL_MANAGER_CLASS
    if _KERNEL_MANAGER_CLASS is None:
        from jupyter_client.manager import AsyncKernelManager

        class RecordingKernelManager(AsyncKernelManager):
            def client(self, **kwargs: Any) -> Any:
                client = super().client(**kwargs)
                self.__dict__.setdefault("_handed_out", []).append(client)
                return client

        _KERNEL_MANAGER_CLASS = RecordingKernelManager
    return _KERNEL_MANAGER_CLASS


def _release_clients(kernel: Any) -> None:
    for client in kernel.__dict__.pop("_handed_out", []):
        if client.channels_running:
            client.stop_channels()


def _shutdown_kernel(kernel: Any) -> None:
    """Shut a kernel down as papermill does for the kernels it starts (ask first, then kill)."""
    from jupyter_core.utils import run_sync

    try:
        run_sync(kernel.shutdown_kernel)(now=False)
    except Exception:  # already gone (crashed, killed): nothing left to stop
        pass
    finally:
        _close_worker_event_loop()


_stopping_kernels: list[threading.Thread] = []
_stopping_lock = threading.Lock()


def _shutdown_in_background(kernel: Any) -> None:
    """Shut a kernel down without making its worker wait (a graceful shutdown takes about a second).

    `_wait_for_kernel_shutdowns` (called when a run's executor closes) waits for them.
    """
    thread = threading.Thread(target=_shutdown_kernel, args=(kernel,), name="kernel-shutdown", daemon=True)
    with _stopping_lock:
        _stopping_kernels.append(thread)
    thread.start()


def _wait_for_kernel_shutdowns(timeout: float = 30.0) -> None:
    with _stopping_lock:
        threads = list(_stopping_kernels)
        _stopping_kernels.clear()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


class _WarmKernels:
    """Kernels started ahead of need, with the modules their notebook imports already imported.

    Starting a kernel and importing pandas, scipy, the package and the like
    takes a second or more per notebook. `warm` does that in a background
    thread for a given notebook while something else runs (preparing the
    data, the previous notebook); `take` hands the kernel to papermill, which
    then runs the notebook in it as in a fresh kernel: the warm-up code runs
    silently (no execution count, no output, no names left behind), so the
    executed notebook is the same, except that a warning raised while
    importing is not repeated in the notebook's output.
    """

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.environment = dict(environment)
        self._lock = threading.Lock()
        self._warming: dict[str, list[Any]] = {}  # source -> futures of kernels
        self._imports: dict[str, list[str]] = {}

    def warm(self, source: str) -> None:
        from concurrent.futures import Future

        future: Future = Future()
        with self._lock:
            self._warming.setdefault(source, []).append(future)
        threading.Thread(target=self._start, args=(future, source), name="warm-kernel", daemon=True).start()

    def _imports_of(self, source: str) -> list[str]:
        with self._lock:
            known = self._imports.get(source)
        if known is None:
            try:
                known = notebook_imports(source)
            except Exception:  # unreadable notebook: papermill will report it when it runs
                known = []
            with self._lock:
                self._imports[source] = known
        return known

    def _start(self, future: Any, source: str) -> None:
        import asyncio

        try:
            future.set_result(asyncio.run(self._started_kernel(self._imports_of(source))))
        except BaseException as exc:  # the notebook then gets a kernel from papermill as usual
            future.set_exception(exc)

    async def _started_kernel(self, names: list[str]) -> Any:
        options = _kernel_options()
        runtime = Path(self.environment.get("JUPYTER_RUNTIME_DIR") or tempfile.gettempdir())
        kernel = _kernel_manager_class()(
            kernel_name="python3",
            config=options["config"],
            connection_file=str(runtime / f"kernel-warm-{os.getpid()}-{id(names)}-{time.monotonic_ns()}.json"),
        )
        await kernel.start_kernel(extra_arguments=options["extra_arguments"], env={**os.environ, **self.environment})
        client = kernel.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            if names:
                await client.execute_interactive(
                    _WARM_UP_CODE.format(names=names), silent=True, store_history=False, timeout=300, output_hook=lambda message: None
                )
        except BaseException:
            client.stop_channels()
            await kernel.shutdown_kernel(now=True)
            raise
        client.stop_channels()
        return kernel

    def count(self, source: str) -> int:
        """How many kernels for `source` are warm or warming."""
        with self._lock:
            return len(self._warming.get(source, []))

    def take(self, source: str) -> Any:
        """A warm (or warming) kernel for `source`, or None when there is none."""
        with self._lock:
            futures = self._warming.get(source)
            future = futures.pop(0) if futures else None
        if future is None:
            return None
        try:
            return future.result(timeout=180)
        except Exception:
            return None

    def close(self) -> None:
        """Shut down every kernel nobody took (waits for those still starting)."""
        with self._lock:
            left = [future for futures in self._warming.values() for future in futures]
            self._warming.clear()
        for future in left:
            try:
                kernel = future.result(timeout=180)
            except Exception:
                continue
            _shutdown_in_background(kernel)


_SAVE_EVERY_S = 10.0
_ENGINE = "ponzoni-eval"
_ENGINE_REGISTERED = False


def _papermill_engine() -> str:
    """papermill's nbclient engine, saving the executed notebook at most every `_SAVE_EVERY_S` seconds.

    papermill writes (and validates) the whole output notebook when each cell
    starts and again when it ends: with figures in the outputs that is tens
    of milliseconds per write, on the one thread-bound process that drives
    every kernel of a run. Here a notebook is written when it has run (also
    after an error, a timeout or Ctrl-C: papermill's ``finally``) and in
    between at most every 10 s, so a long notebook still shows its progress.
    Registered once per process (also on each Dask worker).
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    global _ENGINE_REGISTERED
    if _ENGINE_REGISTERED:
        return _ENGINE

    class ThrottledSaves(NotebookExecutionManager):
        def save(self, **kwargs: Any) -> None:
            if self.end_time is None and (self.now() - self.last_save_time).total_seconds() < _SAVE_EVERY_S:
                return
            super().save(**kwargs)

    class ThrottledEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            # papermill's Engine.execute_notebook, with the throttled manager
            manager = ThrottledSaves(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                     autosave_cell_every=autosave_cell_every)
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
            finally:
                manager.cleanup_pbar()
                manager.notebook_complete()
            return manager.nb

    papermill_engines.register(_ENGINE, ThrottledEngine)
    _ENGINE_REGISTERED = True
    return _ENGINE


def execute_notebook_task(task: NotebookTask, kernel: Any = None) -> NotebookResult:
    """Execute one notebook with papermill (kernel ``python3``) and export it to HTML.

    Never raises for a failing notebook: the executed copy keeps the error
    (papermill writes it), and the result says where it happened.

    Parameters
    ----------
    task : NotebookTask
    kernel : jupyter_client.AsyncKernelManager, optional
        A kernel started ahead of time (`_WarmKernels`); papermill starts its
        own when None. Either way the kernel serves this notebook only.
    """
    import papermill

    started = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            task.source,
            task.output,
            parameters=task.parameters,
            engine_name=_papermill_engine(),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            start_timeout=120,
            execution_timeout=task.cell_timeout,
            **({"km": kernel} if kernel is not None else {}),
            **_kernel_options(),
        )
    except Exception as exc:  # a failing notebook must not stop the others; it is recorded instead
        error = _error_record(task, exc)
    finally:
        if kernel is not None:  # papermill shuts down only the kernels it started
            _release_clients(kernel)
            _shutdown_in_background(kernel)
    if Path(task.output).is_file():
        try:
            _export_html(task)
        except Exception as exc:  # the executed notebook is still there to read
            error = error or {"cell_index": None, "execution_count": None, "ename": type(exc).__name__,
                              "evalue": f"HTML export failed: {exc}"[:2000]}
    duration = round(time.perf_counter() - started, 3)
    _close_worker_event_loop()
    return NotebookResult(task.name, "ok" if error is None else "failed", duration, error)


def _close_worker_event_loop() -> None:
    """Close the event loop nbclient opened on this worker thread (it would leak a socket pair per task).

    jupyter_core creates one loop per thread and never closes it; on the main
    thread the loop may belong to the caller, so it is left alone there.
    """
    import asyncio

    if threading.current_thread() is threading.main_thread():
        return
    loop = asyncio.get_event_loop_policy().get_event_loop()
    if not loop.is_running():
        loop.close()
    asyncio.set_event_loop(None)


OnResult = Callable[[NotebookResult], None]
"""Called with each result as soon as its notebook has finished (progress, manifest)."""


class Executor(Protocol):
    """Where notebooks run: started once, then given tasks, then closed.

    ``start`` is called before the data are prepared, with the notebooks the
    run will execute first (in order), so an executor can get ready while
    `prepare` works: start kernels, connect to a cluster. ``run`` executes
    tasks, calls `on_result` as each finishes and returns the results in task
    order; it never raises for a failing notebook. ``close`` releases what
    ``start`` took, also after an error or Ctrl-C.
    """

    def start(self, sources: Sequence[str]) -> None:
        ...  # pragma: no cover

    def run(self, tasks: Sequence[NotebookTask], on_result: OnResult) -> list[NotebookResult]:
        ...  # pragma: no cover

    def close(self) -> None:
        ...  # pragma: no cover


def _set_worker_environment(environment: Mapping[str, str]) -> None:
    """Worker initializer: the kernels a worker starts inherit this environment."""
    os.environ.update(environment)


@dataclass
class LocalExecutor:
    """Execute notebooks side by side on this machine, `jobs` at a time.

    Parameters
    ----------
    jobs : int
        How many notebooks (kernels) run at once.
    environment : mapping
        Environment variables for the workers and their kernels.
    pool : {"thread", "process"}
        Each notebook runs in its own kernel process either way; the pool
        only drives the kernels (send a cell, wait for the reply), which is
        waiting, not computing. Threads (default) share one set of imports
        and need no ``if __name__ == "__main__"`` guard in a script that
        calls `run_pipeline`; worker processes (forkserver) each import
        papermill and nbconvert again, which on the fixture notebooks made
        a run slower, not faster (see the numbers in README, "Running").
        papermill is thread-safe as long as ``cwd`` is not passed, and it
        is not: notebooks get absolute paths.
    warm : bool
        With threads: start each notebook's kernel ahead of time, with the
        modules the notebook imports already imported (`_WarmKernels`) - the
        first ones while the data are prepared, then each while an earlier
        notebook runs. The notebook itself runs as in a fresh kernel.
    """

    jobs: int = 2
    environment: Mapping[str, str] = field(default_factory=dict)
    pool: str = "thread"
    warm: bool = True
    _kernels: _WarmKernels | None = field(default=None, init=False, repr=False)

    def start(self, sources: Sequence[str]) -> None:
        if self.pool != "thread" or not self.warm:
            return
        threading.Thread(target=_warm_html_exporters, name="warm-html", daemon=True).start()
        self._kernels = _WarmKernels(self.environment)
        for source in list(sources)[: self.jobs]:
            self._kernels.warm(source)

    def close(self) -> None:
        if self._kernels is not None:
            self._kernels.close()
            self._kernels = None
        _wait_for_kernel_shutdowns()

    def run(self, tasks: Sequence[NotebookTask], on_result: OnResult) -> list[NotebookResult]:
        if not tasks:
            return []
        # Workers also for jobs=1: papermill then never runs on the caller's thread, which may have an
        # event loop running already (run_pipeline called from a Jupyter notebook).
        if self.pool == "process":
            return self._run_in_processes(tasks, on_result)
        return self._run_in_threads(tasks, on_result)

    def _run_in_threads(self, tasks: Sequence[NotebookTask], on_result: OnResult) -> list[NotebookResult]:
        # Daemon threads, not a ThreadPoolExecutor: on Ctrl-C the run must stop now, and Python joins a
        # ThreadPoolExecutor's threads at exit, which would wait for every running notebook to finish.
        # Kernels of notebooks still running exit with this process (ipykernel watches its parent).
        todo: queue.SimpleQueue = queue.SimpleQueue()
        finished: queue.SimpleQueue = queue.SimpleQueue()
        for index, task in enumerate(tasks):
            todo.put((index, task))
        kernels = self._kernels
        if kernels is not None:  # the first `jobs` tasks need a kernel now; start() may have warmed some
            needed = Counter(task.source for task in tasks[: self.jobs])
            for source, number in needed.items():
                for _ in range(number - kernels.count(source)):
                    kernels.warm(source)
        warmed_up_to = min(self.jobs, len(tasks))  # tasks[:warmed_up_to] have a kernel on the way
        lock = threading.Lock()

        def work() -> None:
            nonlocal warmed_up_to
            while True:
                try:
                    index, task = todo.get_nowait()
                except queue.Empty:
                    return
                kernel = None
                if kernels is not None:
                    kernel = kernels.take(task.source)
                    with lock:  # while this notebook runs, the kernel of the next one but (jobs - 1) starts
                        if warmed_up_to < len(tasks):
                            kernels.warm(tasks[warmed_up_to].source)
                            warmed_up_to += 1
                finished.put((index, _execute_reporting_crashes(task, kernel)))

        for number in range(min(self.jobs, len(tasks))):
            threading.Thread(target=work, name=f"notebook-{number}", daemon=True).start()
        results: list[NotebookResult | None] = [None] * len(tasks)
        try:
            for _ in tasks:
                index, result = _next_interruptibly(finished)
                results[index] = result
                on_result(result)
        except BaseException:
            while not todo.empty():  # start nothing new
                todo.get_nowait()
            raise
        return [result for result in results if result is not None]

    def _run_in_processes(self, tasks: Sequence[NotebookTask], on_result: OnResult) -> list[NotebookResult]:
        import multiprocessing

        # forkserver: workers start from a clean single-threaded process (fork from a process that runs
        # a progress-bar thread can deadlock); spawn where forkserver does not exist (Windows).
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        executor = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_set_worker_environment,
            initargs=(dict(self.environment),),
        )
        futures = {executor.submit(execute_notebook_task, task): index for index, task in enumerate(tasks)}
        results: list[NotebookResult | None] = [None] * len(tasks)
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures[future]
                    try:
                        results[index] = future.result()
                    except Exception as exc:  # the worker itself died (killed, out of memory)
                        results[index] = _crashed(tasks[index], exc)
                    on_result(results[index])
        except BaseException:
            # Ctrl-C in a terminal reaches the workers too; they stop their notebooks themselves.
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown(wait=True)
        return [result for result in results if result is not None]


def _execute_with_environment(task: NotebookTask, environment: Mapping[str, str]) -> NotebookResult:
    """What a Dask worker runs: the run's kernel environment, then `execute_notebook_task`."""
    _set_worker_environment(environment)
    for variable in _STATE_VARIABLES:
        if environment.get(variable):
            Path(environment[variable]).mkdir(parents=True, exist_ok=True)
    return execute_notebook_task(task)


@dataclass
class DaskExecutor:
    """Execute notebooks on a Dask distributed cluster (`execute_notebook_task` on the workers).

    Parameters
    ----------
    jobs : int
        Workers of the LocalCluster started when no scheduler is given (one
        thread each: a worker drives one kernel at a time). Ignored with a
        scheduler: the cluster's workers decide how many notebooks run at once.
    environment : mapping
        The run's kernel environment (one BLAS thread, state folders, inline
        figures), set on the worker before each notebook.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786`` or
        ``tls://...``. Without one, a LocalCluster with worker processes is
        started on this machine (and closed at the end).

    Notes
    -----
    Only the `NotebookTask` (paths and the notebook parameters: case id,
    alpha, seed, language) goes to the workers, and only the
    `NotebookResult` (status, duration, error name and message) comes back.
    The data, the executed notebooks and every table and figure are read
    and written by the kernels on the workers, at the task's paths: the
    processed data, the notebooks and the run folder must be on a file
    system every worker sees at the same path, and the workers need this
    package installed (see docs/scaling.md).
    """

    jobs: int = 2
    environment: Mapping[str, str] = field(default_factory=dict)
    scheduler: str | None = None
    _client: Any = field(default=None, init=False, repr=False)
    _cluster: Any = field(default=None, init=False, repr=False)

    def start(self, sources: Sequence[str]) -> None:
        """Connect to the scheduler, or start the LocalCluster (while the data are prepared)."""
        if self._client is not None:
            return
        from distributed import Client, LocalCluster

        if self.scheduler:
            self._client = Client(self.scheduler, set_as_default=False)
            return
        self._cluster = LocalCluster(
            n_workers=self.jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no web server (nothing to open it with, and no port to guard)
            host="127.0.0.1",
            silence_logs=logging.ERROR,
            env=dict(self.environment),  # the workers inherit what the kernels they start need
        )
        self._client = Client(self._cluster, set_as_default=False)

    def run(self, tasks: Sequence[NotebookTask], on_result: OnResult) -> list[NotebookResult]:
        from distributed import as_completed

        if not tasks:
            return []
        self.start([])
        environment = dict(self.environment)
        futures = {
            self._client.submit(_execute_with_environment, task, environment, key=f"notebook-{task.name}-{uuid.uuid4().hex[:8]}",
                                pure=False, retries=0): index
            for index, task in enumerate(tasks)
        }
        results: list[NotebookResult | None] = [None] * len(tasks)
        try:
            for future in as_completed(list(futures), loop=self._client.loop):
                index = futures[future]
                try:
                    results[index] = future.result()
                except Exception as exc:  # the worker died (killed, out of memory) or lost the task
                    results[index] = _crashed(tasks[index], exc)
                on_result(results[index])
        except BaseException:
            self._client.cancel(list(futures))
            raise
        return [result for result in results if result is not None]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _crashed(task: NotebookTask, exc: BaseException) -> NotebookResult:
    return NotebookResult(
        task.name, "failed", 0.0, {"cell_index": None, "execution_count": None, "ename": type(exc).__name__, "evalue": str(exc)}
    )


def _execute_reporting_crashes(task: NotebookTask, kernel: Any = None) -> NotebookResult:
    """`execute_notebook_task`, and a result also when something outside the notebook breaks."""
    try:
        return execute_notebook_task(task, kernel)
    except BaseException as exc:  # a result must come back, or the run would wait for it forever
        return _crashed(task, exc)


def _next_interruptibly(results: "queue.SimpleQueue") -> Any:
    """The next finished result; waits in short steps so that Ctrl-C is handled at once."""
    while True:
        try:
            return results.get(timeout=0.2)
        except queue.Empty:
            continue


EXECUTORS: dict[str, Callable[..., Executor]] = {
    "local": lambda jobs, environment: LocalExecutor(jobs, environment),
    "dask": lambda jobs, environment, scheduler=None: DaskExecutor(jobs, environment, scheduler),
}
"""Executors by name: each takes (jobs, environment[, scheduler=]) and returns an `Executor`."""


def _make_executor(name: str, jobs: int, environment: Mapping[str, str], scheduler: str | None = None) -> Executor:
    if scheduler:
        return EXECUTORS[name](jobs, environment, scheduler=scheduler)
    return EXECUTORS[name](jobs, environment)


def _kernel_environment(state_dir: Path) -> dict[str, str]:
    """Environment for kernels: one thread each, state folders outside $HOME, inline figures."""
    environment = dict(_THREAD_LIMITS)
    for variable, folder in _STATE_VARIABLES.items():
        environment[variable] = os.environ.get(variable) or str(state_dir / folder)
    for variable in _STATE_VARIABLES:
        Path(environment[variable]).mkdir(parents=True, exist_ok=True)
    # Figures must reach the notebook (and the HTML); `make` sets MPLBACKEND=Agg for scripts, which
    # would keep every figure out of the reports.
    environment["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    environment["PYTHONHASHSEED"] = "0"  # same set/dict-of-str order in every kernel, every run
    environment["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # the debugger's frozen-modules warning
    return environment


@contextmanager
def _run_environment(state_dir: Path) -> Iterator[dict[str, str]]:
    """`_kernel_environment`, also applied to this process while it lasts, and restored afterwards.

    jupyter_client writes kernel connection files from this process, and the
    kernels papermill starts inherit its environment.
    """
    environment = _kernel_environment(state_dir)
    saved = {variable: os.environ.get(variable) for variable in environment}
    os.environ.update(environment)
    try:
        yield environment
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


# --- the run ------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What `run_pipeline` hands back: the run folder, its manifest, and what failed."""

    run_dir: Path
    manifest: dict[str, Any]

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [entry for entry in self.manifest["notebooks"] if entry["status"] != "ok"]

    @property
    def ok(self) -> bool:
        return self.manifest["status"] == "complete"

    def failure_messages(self) -> list[str]:
        """One line per failed notebook: which one, which cell, which error, where to look."""
        lines = []
        for entry in self.failures:
            error = entry.get("error") or {}
            where = ""
            if error.get("cell_index") is not None:
                where = f" in cell {error['cell_index']} (In [{error.get('execution_count')}])"
                if error.get("cell_first_line"):
                    where += f" `{error['cell_first_line']}`"
            lines.append(
                f"{entry['name']} failed{where}: {error.get('ename')}: {error.get('evalue')} "
                f"(see {self.run_dir / entry['executed']})"
            )
        return lines


def _versions() -> dict[str, str | None]:
    versions = {}
    for package in KEY_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _git_state() -> dict[str, Any] | None:
    """Commit and dirty flag of the source tree the package runs from, or None outside git."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip()), "sources_sha256": code_fingerprint()}


def _write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    _atomic_write_bytes(run_dir / MANIFEST_FILE, _json_bytes(manifest))


def _create_run_dir(out: Path, started: datetime, input_hash: str) -> Path:
    """A new run folder with its INCOMPLETE marker; a second run in the same second gets a suffix."""
    out.mkdir(parents=True, exist_ok=True)
    base = f"{started:%Y%m%d-%H%M%S}-{input_hash}"
    for attempt in range(1, 1000):
        run_dir = out / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        (run_dir / INCOMPLETE_MARKER).write_text(
            f"This run started at {_iso(started)} and has not finished (or was interrupted).\n"
            "Its results are not complete; start a new run.\n",
            encoding="utf-8",
        )
        return run_dir
    raise RuntimeError(f"could not create a run folder under {out}")  # pragma: no cover


def _point_latest(out: Path, run_dir: Path) -> None:
    """Point ``out/latest`` at `run_dir`: a relative symlink, or a text file holding the name."""
    latest = out / LATEST
    temporary = out / f".{LATEST}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    try:
        os.symlink(run_dir.name, temporary, target_is_directory=True)
    except (OSError, NotImplementedError):  # e.g. Windows without developer mode, some network shares
        temporary.write_text(run_dir.name + "\n", encoding="utf-8")
    if latest.is_dir() and not latest.is_symlink():  # a real folder called "latest": leave it alone
        temporary.unlink()
        raise DataError("a folder named 'latest' is in the way", file=str(latest), expected="a symlink or pointer file")
    os.replace(temporary, latest)


def resolve_run_dir(path: str | os.PathLike) -> Path:
    """A run folder from its path, a ``latest`` symlink, or a ``latest`` text pointer."""
    path = Path(path)
    if path.is_file() and path.name == LATEST:
        return (path.parent / path.read_text(encoding="utf-8").strip()).resolve()
    return path.resolve()


def _prepare(data_dir: Path, processed_dir: Path, *, force: bool = False) -> bool:
    """Validate the raw data and write the processed tables (ponzoni_eval.prepare); False when they were current.

    Processed tables made from the same raw files by the same code are kept
    (`ponzoni_eval.prepare.is_current`): validating and preparing them again
    would give the same bytes.
    """
    if not force and is_current(data_dir, processed_dir):  # no pandas needed for this check
        return False
    from .prepare import prepare

    prepare(data_dir, processed_dir)
    return True


def _case_ids(processed_dir: Path, wanted: Sequence[str] | None) -> list[str]:
    import pyarrow.parquet as pq  # not pandas: the run's own process need not import it

    cases_file = processed_dir / "cases.parquet"
    if not cases_file.is_file():
        raise DataError("the processed data have no cases table", file=str(cases_file), expected="cases.parquet from prepare")
    known = [str(case) for case in pq.read_table(cases_file, columns=["case_id"]).column("case_id").to_pylist()]
    if not wanted:
        return known
    unknown = [case for case in wanted if case not in known]
    if unknown:
        raise DataError("unknown case(s)", column="case_id", expected=", ".join(known), found=", ".join(unknown))
    return [case for case in known if case in set(wanted)]  # the data's order, whatever the command line's


def _input_hash(raw: Mapping[str, str], parameters: Mapping[str, Any]) -> str:
    payload = json.dumps({"raw": raw, "parameters": parameters}, sort_keys=True).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()[:10]


def _tasks(
    notebooks_dir: Path,
    run_dir: Path,
    processed_dir: Path,
    case_ids: Sequence[str],
    common: Mapping[str, Any],
    cell_timeout: float | None,
) -> tuple[list[NotebookTask], list[NotebookTask]]:
    def task(notebook: str, name: str, parameters: dict[str, Any], case_id: str | None) -> NotebookTask:
        source = notebooks_dir / f"{notebook}.ipynb"
        if not source.is_file():
            raise DataError("report notebook not found", file=str(source), expected=f"{notebook}.ipynb in {notebooks_dir}")
        return NotebookTask(
            name=name,
            notebook=notebook,
            source=str(source),
            output=str(run_dir / "notebooks" / f"{name}.ipynb"),
            html_report=str(run_dir / "html" / f"{name}.html"),
            html_code=str(run_dir / "html" / f"{name}-code.html"),
            parameters={**parameters, "processed_dir": str(processed_dir), "run_dir": str(run_dir), **common},
            case_id=case_id,
            cell_timeout=cell_timeout,
        )

    per_case = [task(CASE_NOTEBOOK, f"{CASE_NOTEBOOK}-{case}", {"case_id": case}, case) for case in case_ids]
    cross_case = [task(name, name, {"case_id": "all", "cases": list(case_ids)}, None) for name in CROSS_CASE_NOTEBOOKS]
    return per_case, cross_case


def _notebook_entry(task: NotebookTask, run_dir: Path, result: NotebookResult | None, source_sha: str) -> dict[str, Any]:
    recorded_parameters = {k: v for k, v in task.parameters.items() if k not in ("processed_dir", "run_dir")}
    return {
        "name": task.name,
        "notebook": task.notebook,
        "case_id": task.case_id,
        "source_sha256": source_sha,
        "parameters": recorded_parameters,
        "executed": Path(task.output).relative_to(run_dir).as_posix(),
        "html": {
            "report": Path(task.html_report).relative_to(run_dir).as_posix(),
            "code": Path(task.html_code).relative_to(run_dir).as_posix(),
        },
        "status": "pending" if result is None else result.status,
        "duration_s": None if result is None else result.duration_s,
        "error": None if result is None else result.error,
    }


def _outputs_record(registry: Mapping[str, Any]) -> dict[str, Any]:
    return {kind: {record["name"]: record["sha256"] for record in records} for kind, records in registry.items()}


def run_pipeline(
    data_dir: str | os.PathLike,
    *,
    cases: Sequence[str] | None = None,
    jobs: int = 2,
    out: str | os.PathLike = "papermill_runs",
    executor: str = "local",
    scheduler: str | None = None,
    language: str = "en",
    alpha: float = 0.05,
    seed: int = DEFAULT_SEED,
    min_cell: int | None = None,
    processed_dir: str | os.PathLike = "data/processed",
    notebooks_dir: str | os.PathLike | None = None,
    cell_timeout: float | None = 1800,
    show_progress: bool = True,
    console: "Console | None" = None,
    force_prepare: bool = False,
) -> RunResult:
    """Prepare the data and execute every report into a new run folder.

    Parameters
    ----------
    data_dir : path
        Folder with the raw tables (never written to).
    cases : list of str, optional
        Case ids to report on (default: every case in the data).
    jobs : int
        Notebooks executed at once (each is one kernel process).
    out : path
        Folder that holds the run folders and the ``latest`` pointer.
    executor : {"local", "dask"}
        Where notebooks run: ``local`` kernels on this machine, ``jobs`` at a
        time; ``dask`` on a Dask distributed cluster (`DaskExecutor`).
    scheduler : str, optional
        With ``executor="dask"``: the scheduler's address; without one a
        LocalCluster of ``jobs`` worker processes is started.
    language : {"en", "nl"}
        Language of generated sentences and captions in the reports.
    alpha : float
        Significance level passed to every notebook.
    seed : int
        Seed for everything random in the notebooks (bootstrap CIs, ...).
    min_cell : int, optional
        Disclosure control: published counts of people from 1 to
        ``min_cell - 1`` are suppressed (default
        `ponzoni_eval.privacy.DEFAULT_MIN_CELL`, 5). Recorded in the manifest's
        parameters, where `report.open_run` reads it for every table a
        notebook saves.
    processed_dir : path
        Where `prepare` writes the processed tables the notebooks read. When
        they were made from the same raw files by the same code
        (`ponzoni_eval.prepare.is_current`), they are used as they are.
    notebooks_dir : path, optional
        Folder with ``01_case_report.ipynb``, ``02_cross_case.ipynb`` and
        ``03_joint_display.ipynb`` (default: the repository's ``notebooks/``).
    cell_timeout : float or None
        Seconds one cell may take before its notebook counts as failed.
    show_progress : bool
        A progress bar on the terminal (stderr).
    force_prepare : bool
        Validate and prepare even when the processed tables are current.

    Returns
    -------
    RunResult
        ``run_dir``, ``manifest``, ``ok`` (every notebook succeeded) and
        ``failure_messages()``.

    Raises
    ------
    DataError
        When the data do not validate, a requested case does not exist or a
        notebook is missing. Failing notebooks do not raise: they are recorded.

    Notes
    -----
    The run folder is marked ``INCOMPLETE`` from the first moment and the
    marker is removed only when everything is written, so an interrupted run
    (Ctrl-C) is recognisable and never becomes ``latest``. Two runs on the
    same inputs give byte-identical tables and manifests that differ only in
    `VOLATILE_MANIFEST_KEYS`.
    """
    from rich.console import Console

    console = console or Console(stderr=True)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive whole number, got {jobs!r}")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha!r}")
    if min_cell is None:
        from .privacy import DEFAULT_MIN_CELL

        min_cell = DEFAULT_MIN_CELL
    if not isinstance(min_cell, int) or min_cell < 1:
        raise ValueError(f"min_cell must be a whole number of at least 1, got {min_cell!r}")
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; available: {', '.join(sorted(EXECUTORS))}")
    if scheduler and executor != "dask":
        raise ValueError("a scheduler address is only used with executor='dask'")

    data_dir, out, processed_dir = Path(data_dir), Path(out), Path(processed_dir).resolve()
    notebooks_dir = Path(notebooks_dir) if notebooks_dir is not None else _default_notebooks_dir()
    notebooks_dir = notebooks_dir.resolve()
    if not data_dir.is_dir():
        raise DataError("data folder not found", file=str(data_dir), expected="a folder with the raw tables")
    for name, folder in (("run", out), ("processed", processed_dir)):
        if folder.resolve().is_relative_to(data_dir.resolve()):  # raw data are never written to
            raise DataError(f"the {name} folder must not be inside the data folder", file=str(folder),
                            expected=f"a folder outside {data_dir}")

    started = _now()
    clock = time.perf_counter()
    raw = folder_checksums(data_dir)
    parameters: dict[str, Any] = {
        "data_dir": _recorded_path(data_dir),
        "cases": list(cases) if cases else None,
        "language": language,
        "alpha": float(alpha),
        "seed": int(seed),
        "min_cell": int(min_cell),
    }
    run_dir = _create_run_dir(out, started, _input_hash(raw, parameters)).resolve()
    manifest: dict[str, Any] = {
        "format_version": MANIFEST_FORMAT,
        "run_id": run_dir.name,
        "status": "running",
        "started": _iso(started),
        "finished": None,
        "duration_s": None,
        "parameters": parameters,
        "execution": {"executor": executor, "jobs": jobs, **({"scheduler": scheduler} if scheduler else {})},
        "inputs": {"raw": raw, "processed": {}, "notebooks": {}},
        "dataset": {},
        "environment": environment_record(_versions(), kernel_environment=_kernel_environment(out.resolve() / ".state")),
        "git": _git_state(),
        "notebooks": [],
        "outputs": {},
    }
    _write_manifest(run_dir, manifest)

    environment = _kernel_environment(out.resolve() / ".state")
    runner = _make_executor(executor, jobs, environment, scheduler)
    try:
        # The executor gets ready (kernels, cluster) while the data are prepared: the cross-case
        # notebooks run first (they take longest), then the case reports.
        runner.start([str(notebooks_dir / f"{name}.ipynb") for name in (*CROSS_CASE_NOTEBOOKS, CASE_NOTEBOOK)])
        with console.status("Validating and preparing the data ...", spinner="dots"):
            prepared = _prepare(data_dir, processed_dir, force=force_prepare)
        if not prepared:
            console.print(
                f"Processed data in {processed_dir} are up to date with {data_dir} (same files, same code): "
                "not validated and prepared again (--force-prepare does).",
                highlight=False,
            )
        manifest["inputs"]["processed"] = folder_checksums(processed_dir, "*.parquet")
        manifest["dataset"] = {"synthetic": is_synthetic(processed_dir)}
        case_ids = _case_ids(processed_dir, cases)
        parameters["cases"] = case_ids
        common = {"alpha": float(alpha), "seed": int(seed), "language": language}
        per_case, cross_case = _tasks(notebooks_dir, run_dir, processed_dir, case_ids, common, cell_timeout)
        all_tasks = per_case + cross_case
        source_sha = {task.notebook: sha256_file(Path(task.source)) for task in all_tasks}
        manifest["inputs"]["notebooks"] = {f"{name}.ipynb": sha for name, sha in sorted(source_sha.items())}
        code_sha = {task.notebook: notebook_code_sha256(task.source) for task in all_tasks}
        manifest["inputs"]["notebook_code"] = {f"{name}.ipynb": sha for name, sha in sorted(code_sha.items())}
        results: dict[str, NotebookResult] = {}

        def record(result: NotebookResult | None) -> None:
            """Note a finished notebook in the manifest (None: list them all as pending)."""
            if result is not None:
                results[result.name] = result
            manifest["notebooks"] = [
                _notebook_entry(task, run_dir, results.get(task.name), source_sha[task.notebook]) for task in all_tasks
            ]
            _write_manifest(run_dir, manifest)

        record(None)
        for folder in ("notebooks", "html", TABLES_DIR, "figures"):
            (run_dir / folder).mkdir(exist_ok=True)
        # One stage: the cross-case notebooks read the processed data, not the case reports' outputs, so
        # every notebook can run at once; the longest (cross-case) start first.
        with _run_environment(out.resolve() / ".state"):
            _execute_with_progress(runner, [cross_case + per_case], record, console, show_progress)

        registry = collect_outputs(run_dir)
        manifest["outputs"] = _outputs_record(registry)
        failed = [entry for entry in manifest["notebooks"] if entry["status"] != "ok"]
        manifest["status"] = "failed" if failed else "complete"
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        console.print(f"[yellow]Interrupted:[/yellow] {run_dir} stays marked {INCOMPLETE_MARKER}.", highlight=False)
        raise
    except BaseException:
        manifest["status"] = "error"
        raise
    finally:
        runner.close()
        finished = _now()
        manifest["finished"] = _iso(finished)
        manifest["duration_s"] = round(time.perf_counter() - clock, 3)
        _write_manifest(run_dir, manifest)

    _write_index(run_dir, manifest, registry)
    (run_dir / INCOMPLETE_MARKER).unlink()
    _point_latest(out, run_dir)
    return RunResult(run_dir, manifest)


def _execute_with_progress(
    runner: Executor,
    stages: Sequence[Sequence[NotebookTask]],
    record: OnResult,
    console: "Console",
    show_progress: bool,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    total = sum(len(stage) for stage in stages)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
        transient=False,
    ) as progress:
        bar = progress.add_task("Running notebooks", total=total)

        def finished(result: NotebookResult) -> None:
            record(result)
            mark = "[green]ok[/green]" if result.status == "ok" else "[bold red]FAILED[/bold red]"
            progress.console.print(f"  {mark} {result.name} ({result.duration_s:.1f} s)", highlight=False)
            progress.advance(bar)

        for stage in stages:
            runner.run(stage, finished)


# --- index.html ------------------------------------------------------------------------------



def _write_index(run_dir: Path, manifest: Mapping[str, Any], registry: Mapping[str, Any]) -> None:
    """``index.html``: every report, table and figure, with relative links only that exist."""
    from importlib import resources

    import jinja2

    notebooks = []
    for entry in manifest["notebooks"]:
        candidates = (("report", entry["html"]["report"]), ("with code", entry["html"]["code"]), ("notebook", entry["executed"]))
        notebooks.append({**entry, "links": [(label, href) for label, href in candidates if (run_dir / href).is_file()]})
    template = resources.files("ponzoni_eval").joinpath("templates/run_index.html").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = environment.from_string(template).render(
        manifest={**manifest, "notebooks": notebooks}, registry=registry, verify_path=_recorded_path(run_dir)
    )
    _atomic_write_bytes(run_dir / "index.html", page.encode("utf-8"))


# --- stored outputs of the notebooks in the repository -----------------------------------------


def execute_in_place(notebook: str | os.PathLike, *, timeout: float = 1800) -> None:
    """Re-execute a notebook in its own folder and store its outputs (what nbval compares against).

    The paired ``.py`` is synced into the ``.ipynb`` first (jupytext keeps the
    cell ids), then every cell runs with the default parameters, in the
    notebook's folder, as nbval will run it. No timing metadata is written, so
    a re-execution on the same data changes nothing in git.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` (or its paired ``.py``).
    """
    import jupytext
    import nbformat
    from jupytext.cli import jupytext as jupytext_cli
    from nbclient import NotebookClient

    notebook = Path(notebook).with_suffix(".ipynb")
    if notebook.with_suffix(".py").is_file():
        jupytext_cli(["--sync", "--quiet", str(notebook.with_suffix(".py"))])
    executed = nbformat.read(notebook, as_version=4)
    with _run_environment(Path.cwd() / ".state"):
        NotebookClient(
            executed,
            kernel_name="python3",
            timeout=timeout,
            record_timing=False,
            resources={"metadata": {"path": str(notebook.parent.resolve())}},
            **_kernel_options(),
        ).execute()
    for cell in executed.cells:
        cell.metadata.pop("execution", None)
    text = jupytext.writes(executed, fmt="ipynb")  # the bytes jupytext.write gives, written atomically
    _atomic_write_bytes(notebook, (text if text.endswith("\n") else text + "\n").encode("utf-8"))


# --- verify ------------------------------------------------------------------------------------


DIFFERENCES_FILE = "differences.csv"


@dataclass
class VerifyResult:
    """What `verify_run` found.

    ``outcome`` is ``identical``, ``reproduced within tolerance`` or ``not
    reproduced``; ``ok`` is True for the first two. ``warnings`` are the ways
    the re-run's circumstances differ from the recorded run's (platform,
    versions, code): they explain a difference, they are not one.
    """

    recorded_dir: Path
    rerun_dir: Path | None
    input_changes: "pd.DataFrame"
    differences: "pd.DataFrame"
    warnings: list[str]
    comparison: Comparison | None = None
    raw_files: int = 0

    @property
    def outcome(self) -> str:
        if not self.input_changes.empty or self.comparison is None:
            return NOT_REPRODUCED
        if not self.differences.empty:
            return NOT_REPRODUCED
        return self.comparison.outcome

    @property
    def ok(self) -> bool:
        return self.outcome != NOT_REPRODUCED


def _input_changes(recorded: Mapping[str, str], current: Mapping[str, str]) -> "pd.DataFrame":
    import pandas as pd

    rows = [dict(file=f, change="changed") for f in sorted(set(recorded) & set(current)) if recorded[f] != current[f]]
    rows += [dict(file=f, change="missing") for f in sorted(set(recorded) - set(current))]
    rows += [dict(file=f, change="added") for f in sorted(set(current) - set(recorded))]
    return pd.DataFrame(rows, columns=["file", "change"])


def _load_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST_FILE
    if not path.is_file():
        raise DataError("not a run folder: no manifest.json", file=str(run_dir), expected="a folder made by `ponzoni-eval run`")
    if (run_dir / INCOMPLETE_MARKER).exists():
        raise DataError("this run did not finish (it carries an INCOMPLETE marker); nothing to verify", file=str(run_dir))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"manifest.json is not valid JSON ({exc}); the run folder is damaged", file=str(path),
                        expected="the manifest written by `ponzoni-eval run`") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != MANIFEST_FORMAT:
        raise DataError("manifest format not understood", file=str(path), expected=MANIFEST_FORMAT,
                        found=manifest.get("format_version") if isinstance(manifest, dict) else type(manifest).__name__)
    missing = [key for key in ("parameters", "inputs", "notebooks") if not isinstance(manifest.get(key), (dict, list))]
    if missing:
        raise DataError("manifest.json lacks what a re-run needs; the run folder is damaged", file=str(path),
                        expected="the keys parameters, inputs and notebooks", found=", ".join(missing) + " missing")
    return manifest


def verify_run(
    run_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    jobs: int = 2,
    notebooks_dir: str | os.PathLike | None = None,
    keep: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    console: "Console | None" = None,
) -> VerifyResult:
    """Re-run a recorded run on the same inputs and compare every result table.

    Parameters
    ----------
    run_dir : path
        A run folder (or ``papermill_runs/latest``, or a reference run that
        holds only ``manifest.json`` and ``tables/``).
    data_dir : path, optional
        Where the raw data are now (default: the recorded ``data_dir``,
        relative to the working folder).
    jobs : int
        Notebooks executed at once for the re-run.
    notebooks_dir : path, optional
        Report notebooks to run (default: the repository's ``notebooks/``).
    keep : bool
        Keep the re-run folder even when everything matches (it is always
        kept on a mismatch, for inspection, with ``differences.csv``).
    rtol, atol : float, optional
        Tolerance for values from iterative fits (default
        `ponzoni_eval.reproducibility.FITTED`: 1e-6 relative, 1e-9
        absolute). Closed-form values are compared at 1e-12 relative (or at
        these, when they are stricter); text and whole numbers exactly.

    Returns
    -------
    VerifyResult
        ``outcome``: ``identical``, ``reproduced within tolerance`` or ``not
        reproduced``. Not reproduced when an input file changed (the re-run
        is then skipped: its results could not be expected to match), a
        notebook's status changed, or any value is outside its tolerance.
        A summary is printed.

    Notes
    -----
    The re-run writes its processed tables and run folder into a temporary
    folder; nothing of the recorded run or of ``data/processed`` is touched.
    The tolerance model is described in `ponzoni_eval.reproducibility`.
    """
    import pandas as pd
    from rich.console import Console

    fitted = Tolerance(FITTED.rtol if rtol is None else rtol, FITTED.atol if atol is None else atol)
    closed_form = Tolerance(min(CLOSED_FORM.rtol, fitted.rtol), min(CLOSED_FORM.atol, fitted.atol))
    console = console or Console(stderr=True)
    recorded_dir = resolve_run_dir(run_dir)
    manifest = _load_manifest(recorded_dir)
    parameters = manifest["parameters"]
    data_dir = Path(data_dir) if data_dir is not None else Path(parameters["data_dir"])
    if not data_dir.is_dir():
        raise DataError("the recorded data folder is not here; pass --data", file=str(data_dir))

    current_raw = folder_checksums(data_dir)
    input_changes = _input_changes(manifest["inputs"]["raw"], current_raw)
    empty = pd.DataFrame(columns=list(DIFFERENCE_COLUMNS))
    if not input_changes.empty:
        result = VerifyResult(recorded_dir, None, input_changes, empty, [])
        _print_verify_summary(result, console)
        return result

    workspace = Path(tempfile.mkdtemp(prefix="ponzoni-verify-"))
    rerun = run_pipeline(
        data_dir,
        cases=parameters["cases"],
        jobs=jobs,
        out=workspace / "runs",
        language=parameters["language"],
        alpha=parameters["alpha"],
        seed=parameters["seed"],
        min_cell=parameters.get("min_cell"),  # runs recorded before min_cell existed used the default
        processed_dir=workspace / "processed",
        notebooks_dir=notebooks_dir,
        console=console,
    )
    comparison = compare_tables(recorded_dir / TABLES_DIR, rerun.run_dir / TABLES_DIR, fitted=fitted, closed_form=closed_form)
    differences = comparison.differences
    recorded_status = {entry["name"]: entry["status"] for entry in manifest["notebooks"]}
    notebook_rows = [
        dict(table=entry["name"], column="", row="", kind="notebook", recorded=recorded_status.get(entry["name"], "absent"),
             rerun=entry["status"], abs_difference=float("nan"), rel_difference=float("nan"), tolerance="")
        for entry in rerun.manifest["notebooks"]
        if entry["status"] != recorded_status.get(entry["name"])
    ]
    if notebook_rows:
        differences = pd.concat([pd.DataFrame(notebook_rows, columns=list(DIFFERENCE_COLUMNS)), differences], ignore_index=True)
    warnings = explain_differences(manifest, rerun.manifest)
    if comparison.legacy_tables:
        warnings.append(f"{len(comparison.legacy_tables)} recorded table(s) carry no precision class (a run made before "
                        "it was recorded): their numbers were compared at the fitted tolerance")
    result = VerifyResult(recorded_dir, rerun.run_dir, input_changes, differences, warnings, comparison, len(current_raw))
    if result.ok and not keep:
        shutil.rmtree(workspace, ignore_errors=True)
        result.rerun_dir = None
    else:
        _atomic_write_bytes(rerun.run_dir / DIFFERENCES_FILE, differences.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    _print_verify_summary(result, console)
    return result


# How many value differences are printed; differences.csv in the kept re-run has them all.
_PRINTED_DIFFERENCES = 20


def _print_verify_summary(result: VerifyResult, console: "Console") -> None:
    """Plain lines (no table), so the summary reads at 80 columns and when piped into a file."""
    from rich.markup import escape

    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    for warning in result.warnings:
        say(f"[yellow]Note:[/yellow] {escape(warning)}")
    if not result.input_changes.empty:
        say("[bold red]Not reproduced:[/bold red] the input files are not the recorded ones, so the run was not repeated:")
        for row in result.input_changes.itertuples(index=False):
            say(f"  {escape(row.file)}: {row.change}")
        return
    comparison = result.comparison
    assert comparison is not None
    fitted, closed = comparison.tolerances["fitted"], comparison.tolerances["closed_form"]
    counts = comparison.values
    compared = (f"{comparison.tables} tables, {sum(counts.values()):,} values compared ({counts['exact']:,} exactly, "
                f"{counts['closed_form']:,} closed-form at {closed.describe()}, {counts['fitted']:,} from fits at "
                f"{fitted.describe()}); {result.raw_files} raw input files match their recorded checksums.")
    if result.ok:
        if result.outcome == "identical":
            say(f"[bold green]Identical:[/bold green] every value of {escape(result.recorded_dir.name)} was reproduced "
                f"exactly. {compared}")
        else:
            largest = comparison.largest or {}
            say(f"[bold green]Reproduced within tolerance:[/bold green] {escape(result.recorded_dir.name)}. {compared} "
                f"Largest difference: relative {largest.get('rel_difference', 0):.1e} (absolute "
                f"{largest.get('abs_difference', 0):.1e}, {100 * largest.get('share_of_tolerance', 0):.2g}% of the tolerance) in "
                f"{escape(str(largest.get('table')))}.{escape(str(largest.get('column')))} "
                f"({escape(str(largest.get('row')))}): {largest.get('recorded')} recorded, {largest.get('rerun')} re-run.")
        if result.rerun_dir is not None:
            say(f"The re-run is kept in {escape(str(result.rerun_dir))}.")
        return
    differences = result.differences
    say(f"[bold red]Not reproduced:[/bold red] {len(differences)} difference(s) from "
        f"{escape(result.recorded_dir.name)}. {compared}")
    for row in differences.head(_PRINTED_DIFFERENCES).itertuples(index=False):
        where = row.table + (f".{row.column}" if row.column else "")
        say(f"- {escape(where)}" + (f" ({escape(row.row)})" if row.row else "") + f": {row.kind}")
        detail = f"    recorded {escape(str(row.recorded))}, re-run {escape(str(row.rerun))}"
        if row.kind == "value" and row.tolerance != "exact":
            detail += f" (relative difference {row.rel_difference:.1e}; allowed {row.tolerance})"
        elif row.kind == "value":
            detail += " (must be equal)"
        say(detail)
    if len(differences) > _PRINTED_DIFFERENCES:
        say(f"... and {len(differences) - _PRINTED_DIFFERENCES} more.")
    say(f"All differences: {escape(str(result.rerun_dir / DIFFERENCES_FILE))} (re-run kept in {escape(str(result.rerun_dir))}).")


def strip_volatile(manifest: Mapping[str, Any]) -> Any:
    """The manifest without the fields that differ between runs by design (times, run id)."""

    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE_MANIFEST_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(manifest)
