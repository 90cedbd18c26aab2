"""The environment of a run: kernel variables (one BLAS thread, state folders) and the versions and git state it records."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = [
]


# One BLAS/OpenMP thread per kernel: with several kernels side by side, more threads only compete
# for the same cores (and thread counts can change the last bits of float sums).
_THREAD_LIMITS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}
STATE_VARIABLES = {
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "JUPYTER_DATA_DIR": "jupyter-data",
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
}


def kernel_environment(state_dir: Path) -> dict[str, str]:
    """Environment for kernels: one thread each, state folders outside $HOME, inline figures."""
    environment = dict(_THREAD_LIMITS)
    for variable, folder in STATE_VARIABLES.items():
        environment[variable] = os.environ.get(variable) or str(state_dir / folder)
    for variable in STATE_VARIABLES:
        Path(environment[variable]).mkdir(parents=True, exist_ok=True)
    # Figures must reach the notebook (and the HTML); `make` sets MPLBACKEND=Agg for scripts, which
    # would keep every figure out of the reports.
    environment["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    environment["PYTHONHASHSEED"] = "0"  # same set/dict-of-str order in every kernel, every run
    environment["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # the debugger's frozen-modules warning
    return environment


@contextmanager
def run_environment(state_dir: Path) -> Iterator[dict[str, str]]:
    """`kernel_environment`, also applied to this process while it lasts, and restored afterwards.

    jupyter_client writes kernel connection files from this process, and the
    kernels papermill starts inherit its environment.
    """
    environment = kernel_environment(state_dir)
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
