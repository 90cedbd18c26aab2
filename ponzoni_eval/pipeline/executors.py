"""Executors: where the notebooks of a run execute (local threads or processes, or a Dask cluster)."""

from __future__ import annotations

import logging
import os
import queue
import threading
import uuid
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

from ponzoni_eval.pipeline.engine import (
    execute_notebook_task,
    NotebookResult,
    NotebookTask,
    warm_html_exporters,
)
from ponzoni_eval.pipeline.environment import STATE_VARIABLES
from ponzoni_eval.pipeline.kernels import wait_for_kernel_shutdowns, WarmKernels

__all__ = [
    "Executor",
    "LocalExecutor",
    "DaskExecutor",
    "EXECUTORS",
]


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
        modules the notebook imports already imported (`WarmKernels`) - the
        first ones while the data are prepared, then each while an earlier
        notebook runs. The notebook itself runs as in a fresh kernel.
    """

    jobs: int = 2
    environment: Mapping[str, str] = field(default_factory=dict)
    pool: str = "thread"
    warm: bool = True
    _kernels: WarmKernels | None = field(default=None, init=False, repr=False)

    def start(self, sources: Sequence[str]) -> None:
        if self.pool != "thread" or not self.warm:
            return
        threading.Thread(target=warm_html_exporters, name="warm-html", daemon=True).start()
        self._kernels = WarmKernels(self.environment)
        for source in list(sources)[: self.jobs]:
            self._kernels.warm(source)

    def close(self) -> None:
        if self._kernels is not None:
            self._kernels.close()
            self._kernels = None
        wait_for_kernel_shutdowns()

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
    for variable in STATE_VARIABLES:
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


def make_executor(name: str, jobs: int, environment: Mapping[str, str], scheduler: str | None = None) -> Executor:
    if scheduler:
        return EXECUTORS[name](jobs, environment, scheduler=scheduler)
    return EXECUTORS[name](jobs, environment)
