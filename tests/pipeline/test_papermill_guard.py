"""A guard for the papermill code copied into `ponzoni_eval.pipeline.engine`.

`_papermill_engine` re-implements papermill's ``Engine.execute_notebook`` (with
a manager that saves less often) and relies on what
``NBClientEngine.execute_managed_notebook`` and ``NotebookExecutionManager.save``
do. papermill is pinned in pyproject.toml; when the pin is moved, these tests
say whether the upstream code our copy was written against has changed.
"""

from __future__ import annotations

import hashlib
import inspect
import tomllib
from pathlib import Path

import papermill
import pytest
from papermill.engines import Engine, NBClientEngine, NotebookExecutionManager

PINNED = "2.7.0"
"""The papermill version `pipeline/engine.py` was written against."""

WRITTEN_AGAINST = {
    "Engine.execute_notebook": (Engine.execute_notebook, "6bda1b1eb72aa8b3863dc34ed5b1843c980b59b92352d00a4b7468edb7945bc8"),
    "NBClientEngine.execute_managed_notebook": (
        NBClientEngine.execute_managed_notebook, "5db3562c458aeaaa7940de795886d76054ddb6b04dcf37a97238b07cfb7432d8"),
    "NotebookExecutionManager.save": (NotebookExecutionManager.save, "8dc5715f5eb77ad2494d92348af67b7864a5cd827f6076a4aff644a914d81fdc"),
}
"""SHA-256 of ``inspect.getsource`` of each upstream function, in papermill `PINNED`."""

WHAT_TO_RECHECK = {
    "Engine.execute_notebook": "ThrottledEngine.execute_notebook in pipeline/engine.py is a copy of it (with ThrottledSaves "
                               "instead of NotebookExecutionManager): bring the copy in line with the new upstream body",
    "NBClientEngine.execute_managed_notebook": "ThrottledEngine inherits it and calls it with the manager and kernel_name: "
                                               "check that its arguments and use of the manager still fit",
    "NotebookExecutionManager.save": "ThrottledSaves.save skips saves while a notebook runs and relies on last_save_time, "
                                     "end_time and now(): check they still exist and mean the same",
}


def test_papermill_is_pinned_to_the_version_the_engine_was_written_against():
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"papermill=={PINNED}" in pyproject["project"]["dependencies"]
    assert papermill.__version__ == PINNED, (
        f"papermill {papermill.__version__} is installed, the engine was written against {PINNED}: "
        "run `make setup`, or re-check pipeline/engine.py before moving the pin")


@pytest.mark.parametrize("name", sorted(WRITTEN_AGAINST))
def test_upstream_code_copied_or_relied_on_is_unchanged(name):
    function, expected = WRITTEN_AGAINST[name]
    found = hashlib.sha256(inspect.getsource(function).encode("utf-8")).hexdigest()
    assert found == expected, (
        f"papermill's {name} changed since pipeline/engine.py was written (papermill {PINNED}). "
        f"{WHAT_TO_RECHECK[name]}; then put the new hash ({found}) in WRITTEN_AGAINST.")
