"""Shared test set-up.

Jupyter, IPython and matplotlib keep their state in a temporary folder for the
whole session, never in $HOME (kernels started by the run tests inherit it).

Hypothesis profiles, chosen by the environment variable ``HYPOTHESIS_PROFILE``:
``ci`` (``make test``) runs every property test with its full example count,
``dev`` (the default: ``make test-fast`` and a bare ``pytest``) with at most
``hypothesis_profiles.DEV_EXAMPLES`` (see `tests/hypothesis_profiles.py`).

``fixtures/`` holds notebooks and helpers that tests run on purpose; with
``--doctest-modules`` (pyproject.toml) pytest would import them as modules.

Order for two workers (``make test``: ``-n 2 --dist loadgroup --no-loadscope-reorder``):
the slow tests (pipelines, kernels) come first, so that both workers start on
the long runs and share the short tests at the end; and the tests of a module
that builds a module- or session-scoped fixture (a prepared example, a
pipeline run) stay on one worker (an ``xdist_group``), so it is built once.
"""

import functools
import os
import re

import pytest
from hypothesis import settings

from hypothesis_profiles import DEV_EXAMPLES

collect_ignore = ["fixtures"]

settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=DEV_EXAMPLES, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

_SHARED_FIXTURE = re.compile(r"@pytest\.fixture\(\s*scope\s*=\s*[\"'](module|session)[\"']")


@functools.cache
def _builds_shared_fixture(path: str) -> bool:
    with open(path, encoding="utf-8") as source:
        return bool(_SHARED_FIXTURE.search(source.read()))


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(items):
    for item in items:
        if isinstance(item, pytest.Function) and _builds_shared_fixture(str(item.path)):
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: slow first, else as collected


@pytest.fixture(scope="session", autouse=True)
def _state_outside_home(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:
        for variable, folder in (
            ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
            ("JUPYTER_DATA_DIR", "jupyter-data"),
            ("IPYTHONDIR", "ipython"),
            ("MPLCONFIGDIR", "matplotlib"),
        ):
            (state / folder).mkdir()
            patch.setenv(variable, str(state / folder))
        patch.setenv("MPLBACKEND", "Agg")
        patch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        yield state
