"""Shared test set-up.

Jupyter, IPython and matplotlib keep their state in a temporary folder for the
whole session, never in $HOME (kernels started by the run tests inherit it).
"""

import pytest


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
