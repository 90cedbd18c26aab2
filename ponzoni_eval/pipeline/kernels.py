"""Jupyter kernels for a run: started ahead with the notebook's imports done, shut down in the background."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Mapping

__all__ = [
]


def kernel_options() -> dict[str, Any]:
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
    started itself; for a kernel handed to it, `release_clients` does that
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


def release_clients(kernel: Any) -> None:
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
        close_worker_event_loop()


_stopping_kernels: list[threading.Thread] = []
_stopping_lock = threading.Lock()


def shutdown_in_background(kernel: Any) -> None:
    """Shut a kernel down without making its worker wait (a graceful shutdown takes about a second).

    `wait_for_kernel_shutdowns` (called when a run's executor closes) waits for them.
    """
    thread = threading.Thread(target=_shutdown_kernel, args=(kernel,), name="kernel-shutdown", daemon=True)
    with _stopping_lock:
        _stopping_kernels.append(thread)
    thread.start()


def wait_for_kernel_shutdowns(timeout: float = 30.0) -> None:
    with _stopping_lock:
        threads = list(_stopping_kernels)
        _stopping_kernels.clear()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


class WarmKernels:
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
        options = kernel_options()
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
            shutdown_in_background(kernel)


def close_worker_event_loop() -> None:
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
