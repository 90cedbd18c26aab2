"""Run the docstring examples of the modules that replaced one former flat module.

A module split along its jobs keeps every example it had; these runners check
them all, as the one ``doctest.testmod(module)`` per module did before.
"""

from __future__ import annotations

import doctest
import importlib


def run_doctests(*names: str, optionflags: int = 0) -> doctest.TestResults:
    """`doctest.testmod` over the named modules, with the counts summed."""
    failed = attempted = 0
    for name in names:
        outcome = doctest.testmod(importlib.import_module(name), optionflags=optionflags)
        failed += outcome.failed
        attempted += outcome.attempted
    return doctest.TestResults(failed, attempted)
