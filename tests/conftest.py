"""Shared test set-up.

Jupyter, IPython and matplotlib keep their state in a temporary folder for the
whole session, never in $HOME (kernels started by the run tests inherit it).

Hypothesis profiles, chosen by the environment variable ``HYPOTHESIS_PROFILE``:
``ci`` (``make test``) runs every property test with its full example count,
``dev`` (the default: ``make test-fast`` and a bare ``pytest``) with at most
``hypothesis_profiles.DEV_EXAMPLES`` (see `tests/hypothesis_profiles.py`).

``fixtures/`` holds notebooks and helpers that tests run on purpose; with
``--doctest-modules`` (pyproject.toml) pytest would import them as modules.
"""

import os

import pytest
from hypothesis import settings

from hypothesis_profiles import DEV_EXAMPLES

collect_ignore = ["fixtures"]

settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=DEV_EXAMPLES, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


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
