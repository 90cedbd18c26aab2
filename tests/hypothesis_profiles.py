"""The example budget of a property test under the loaded hypothesis profile.

`tests/conftest.py` registers two profiles and loads the one named by the
``HYPOTHESIS_PROFILE`` environment variable (``dev`` when unset):

- ``ci`` (``make test``): every property test runs its full count, the one it
  names with ``@settings(max_examples=examples(N))``;
- ``dev`` (``make test-fast``, a bare ``pytest``): at most ``DEV_EXAMPLES`` per test.
"""

from __future__ import annotations

from hypothesis import settings

DEV_EXAMPLES = 10


def examples(full: int) -> int:
    """``full`` under the ``ci`` profile, else at most the loaded profile's ``max_examples``.

    Read when a test module is imported, i.e. after `tests/conftest.py` loaded the profile.
    """
    if settings.get_current_profile_name() == "ci":
        return full
    return min(full, settings.default.max_examples)
