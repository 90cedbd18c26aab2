"""Running the reports: papermill with warm kernels, executors (threads, processes, Dask), the manifest, the index page, verify.

Names load on first use (`ponzoni_eval._core.lazy`), so `ponzoni-eval --help` stays light.
"""

from __future__ import annotations

from ponzoni_eval._core.lazy import attach

_SURFACE = {
    "run": [
        "run_pipeline",
        "RunResult",
        "resolve_run_dir",
        "CASE_NOTEBOOK",
        "CROSS_CASE_NOTEBOOKS",
        "LANGUAGES",
        "execute_in_place",
        "unfinished_runs",
        "remove_runs",
    ],
    "verify": [
        "verify_run",
        "VerifyResult",
        "strip_volatile",
    ],
    "engine": [
        "NotebookTask",
        "NotebookResult",
        "execute_notebook_task",
    ],
    "executors": [
        "Executor",
        "LocalExecutor",
        "DaskExecutor",
        "EXECUTORS",
    ],
}

__getattr__, __dir__, __all__ = attach(__name__, _SURFACE)
