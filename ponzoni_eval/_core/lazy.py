"""Public names of a subpackage that load on first use (Scientific Python SPEC 1, as in scipy).

The upper layers (`data`, `qual`, `report`, `pipeline`) list their public
surface explicitly in their ``__init__`` and hand it to `attach`: importing
the package costs nothing, and ``package.name`` imports the one module that
defines ``name`` when it is first used. That keeps ``ponzoni-eval --help``
and a run's own process free of pandas, and a notebook's first cell free of
the statistics stack (`tests/test_cli.py::test_light_imports_stay_light`),
while every module still imports the packages it needs at its top.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["attach"]


def attach(package: str, surface: Mapping[str, Sequence[str]]) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for `package`, whose public names are `surface`.

    `surface` maps each submodule (relative to `package`) to the names it
    contributes. A submodule whose name is also one of its public names
    would be shadowed by the import system, so the two never coincide.
    """
    where = {name: module for module, names in surface.items() for name in names}
    clashes = sorted(set(where) & {module.split(".")[0] for module in surface})
    if clashes:
        raise RuntimeError(f"{package}: public names that are also submodules: {clashes}")

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
