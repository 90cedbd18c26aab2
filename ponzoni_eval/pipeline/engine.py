"""Executing one notebook: papermill with a warm kernel, saved as it runs, exported to HTML."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponzoni_eval._core.files import atomic_write_bytes
from ponzoni_eval.pipeline.kernels import (
    close_worker_event_loop,
    kernel_options,
    release_clients,
    shutdown_in_background,
)

__all__ = [
    "NotebookTask",
    "NotebookResult",
    "execute_notebook_task",
]


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


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _section_of(source: str, cell_index: int) -> str | None:
    """The heading of the notebook section a cell belongs to: the last markdown heading above it."""
    import nbformat

    notebook = nbformat.read(source, as_version=4)
    for cell in reversed(notebook.cells[: cell_index + 1]):
        if cell.cell_type == "markdown":
            headings = [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
            if headings:
                return headings[-1][:200]
    return None


def _write_log(task: NotebookTask, exc: BaseException) -> str:
    """The full traceback in the run's ``logs/<name>.log``; returns its path relative to the run folder."""
    import traceback

    from papermill.exceptions import PapermillExecutionError

    run_dir = Path(task.output).parent.parent
    if isinstance(exc, PapermillExecutionError):
        text = "\n".join(_ANSI.sub("", line) for line in exc.traceback)
    else:
        text = "".join(traceback.format_exception(exc))
    log = run_dir / "logs" / f"{task.name}.log"
    log.parent.mkdir(exist_ok=True)
    atomic_write_bytes(log, (text.rstrip() + "\n").encode("utf-8"))
    return log.relative_to(run_dir).as_posix()


def _error_record(task: NotebookTask, exc: BaseException) -> dict[str, Any]:
    """What the manifest says about a failure: cell (in the source notebook), its section, In [n], error name and text, log file."""
    from papermill.exceptions import PapermillExecutionError

    try:
        log = _write_log(task, exc)
    except OSError:  # pragma: no cover - the run folder is gone; the executed notebook keeps the traceback
        log = None
    if not isinstance(exc, PapermillExecutionError):
        return {"cell_index": None, "execution_count": None, "ename": type(exc).__name__, "evalue": str(exc)[:2000], "log": log}
    cell_index = exc.cell_index
    parameters_cell = _parameters_cell_index(task.source)
    # papermill injects one cell after the parameters cell; count cells as in the source notebook.
    if parameters_cell is not None and task.parameters and cell_index > parameters_cell:
        cell_index -= 1
    first_line = next((line for line in str(exc.source).splitlines() if line.strip()), "")
    return {
        "log": log,
        "section": _section_of(task.source, cell_index),
        "cell_index": cell_index,
        "execution_count": exc.exec_count,
        "ename": exc.ename,
        "evalue": str(exc.evalue)[:2000],
        "cell_first_line": first_line[:200],
    }


_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

_exporters: dict[bool, Any] = {}
_exporters_lock = threading.Lock()


def _html_exporter(with_code: bool):
    """The process's HTML exporter with or without code; use it while holding `_exporters_lock`.

    Created once and reused: an exporter compiles its templates on first use,
    which took 0.3 s of the 0.35 s a conversion took; later conversions take
    about 0.05 s, so converting one notebook at a time costs little.
    """
    import jinja2
    from nbconvert import HTMLExporter

    if with_code not in _exporters:
        # The lab template without what it loads from the network (require.js, MathJax, Mermaid, widgets):
        # the pages work offline, and the notebooks use no formula, diagram or widget.
        offline = jinja2.DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})
        exporter = HTMLExporter(template_name="lab", extra_loaders=[offline], template_file="offline.html.j2")
        exporter.exclude_input = not with_code
        exporter.exclude_input_prompt = not with_code
        exporter.exclude_output_prompt = not with_code
        _exporters[with_code] = exporter
    return _exporters[with_code]


def warm_html_exporters() -> None:
    """Compile both exporters' templates now (on a thread, while the data are prepared)."""
    import nbformat

    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm-up"), nbformat.v4.new_code_cell("1")])
    try:
        with _exporters_lock:
            for with_code in (False, True):
                _html_exporter(with_code).from_notebook_node(empty, resources={"metadata": {"name": "warm-up"}})
    except Exception:  # the real export will raise (and be recorded) if something is wrong
        pass


def without_tracebacks(notebook: Any, language: str = "en") -> Any:
    """A copy of an executed notebook for readers without code: each error output becomes one short notice.

    The error's name and first line stay (what went wrong); the traceback goes
    (it is in the report with code and in the run's ``logs/``). Streams that
    carry a traceback (a logged exception) are dropped too.
    """
    import copy
    import html

    import nbformat

    from ponzoni_eval._core.words import term

    clean = copy.deepcopy(notebook)
    for cell in clean.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first = next((line for line in _ANSI.sub("", str(output.get("evalue", ""))).splitlines() if line.strip()), "")
                error = f"{output.get('ename', 'Error')}: {first}"[:300]
                text = term("plan.failed", language, error=error)
                outputs.append(nbformat.v4.new_output(
                    "display_data",
                    data={"text/plain": text,
                          "text/html": '<div class="ponzoni-notice ponzoni-failed" role="alert" style="border-left:4px solid '
                                       f'#b00020;background:#fff3f3;padding:0.6em 1em;font-family:sans-serif">{html.escape(text)}</div>'},
                ))
            elif output.get("output_type") == "stream" and "Traceback (most recent call last)" in str(output.get("text", "")):
                continue
            else:
                outputs.append(output)
        cell.outputs = outputs
    return clean


def _shown_path(value: str) -> str:
    """An absolute path as a page shows it: relative to the working folder (the checkout) when inside it."""
    path = Path(value)
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.name


def _without_absolute_paths(notebook: Any, task: NotebookTask) -> Any:
    """The notebook as its pages show it: the injected parameters name folders relative to the checkout.

    papermill writes the run's absolute paths into the parameters cell; a page a reader opens (or
    forwards) should not carry the machine's folder layout.
    """
    paths = {value: _shown_path(value) for value in task.parameters.values() if isinstance(value, str) and Path(value).is_absolute()}
    for cell in notebook.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            for absolute, shown in sorted(paths.items(), key=lambda item: -len(item[0])):
                cell.source = cell.source.replace(absolute, shown)
    return notebook


def _export_html(task: NotebookTask, started: float | None = None) -> None:
    """The executed notebook as HTML with its code (students, reviewers).

    The report for readers without code (``task.html_report``) is written by the notebook itself
    (``run.write_report(...)`` in its last cell, `ponzoni_eval.report.document`), from the tables and
    figures it saved. Only when the notebook did not get that far (an error before its last cell) is
    the notebook exported without code in its place, so that the link in the index still shows what ran.
    """
    import nbformat

    notebook = _without_absolute_paths(nbformat.read(task.output, as_version=4), task)
    language = str(task.parameters.get("language", "en"))
    report = Path(task.html_report)
    written = report.is_file() and (started is None or report.stat().st_mtime >= started)
    targets = [(task.html_code, True)] if written else [(task.html_report, False), (task.html_code, True)]
    for target, with_code in targets:
        shown = notebook if with_code else without_tracebacks(notebook, language)
        with _exporters_lock:
            body, _ = _html_exporter(with_code).from_notebook_node(shown, resources={"metadata": {"name": task.name}})
        atomic_write_bytes(Path(target), body.encode("utf-8"))


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

    ``ThrottledEngine.execute_notebook`` copies papermill's
    ``Engine.execute_notebook``; papermill is pinned in pyproject.toml and
    tests/pipeline/test_papermill_guard.py fails when the upstream code this
    copy follows changes.
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
        A kernel started ahead of time (`WarmKernels`); papermill starts its
        own when None. Either way the kernel serves this notebook only.
    """
    import papermill

    started = time.perf_counter()
    started_wall = time.time() - 1.0  # file times may be coarser than the clock
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
            **kernel_options(),
        )
    except Exception as exc:  # a failing notebook must not stop the others; it is recorded instead
        error = _error_record(task, exc)
    finally:
        if kernel is not None:  # papermill shuts down only the kernels it started
            release_clients(kernel)
            shutdown_in_background(kernel)
    if Path(task.output).is_file():
        try:
            _export_html(task, started_wall)
        except Exception as exc:  # the executed notebook is still there to read
            error = error or {"cell_index": None, "execution_count": None, "ename": type(exc).__name__,
                              "evalue": f"HTML export failed: {exc}"[:2000]}
    duration = round(time.perf_counter() - started, 3)
    close_worker_event_loop()
    return NotebookResult(task.name, "ok" if error is None else "failed", duration, error)
