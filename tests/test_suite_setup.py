"""The test suite's own set-up: hypothesis profiles and the docstring examples run as tests."""

from __future__ import annotations

import os
import re
from pathlib import Path

from hypothesis import settings

from hypothesis_profiles import DEV_EXAMPLES, examples

TESTS = Path(__file__).parent


def test_the_profile_named_by_the_environment_is_loaded():
    assert settings.get_current_profile_name() == os.environ.get("HYPOTHESIS_PROFILE", "dev")


def test_ci_keeps_each_test_s_count_and_dev_caps_it():
    loaded = settings.get_current_profile_name()
    try:
        settings.load_profile("ci")
        assert [examples(n) for n in (5, 25, 300)] == [5, 25, 300]
        settings.load_profile("dev")
        assert [examples(n) for n in (5, 25, 300)] == [5, DEV_EXAMPLES, DEV_EXAMPLES]
        assert settings.default.deadline is None
    finally:
        settings.load_profile(loaded)


def test_every_property_test_takes_its_count_from_the_profile():
    # A hard-coded max_examples would ignore the profile (an explicit setting beats it).
    hard_coded = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"max_examples\s*=\s*(?!examples\()", line) and path.name not in {"conftest.py", "hypothesis_profiles.py"}
    ]
    assert hard_coded == []


def test_the_package_docstring_examples_are_collected(request):
    # They replaced the hand-written doctest runners: `pytest` with no paths runs them.
    assert request.config.getoption("doctestmodules")
    assert "ponzoni_eval" in request.config.getini("testpaths")
    assert {"NORMALIZE_WHITESPACE", "ELLIPSIS"} <= set(request.config.getini("doctest_optionflags"))


def test_slow_tests_come_first_and_shared_fixtures_stay_on_one_worker(request):
    items = request.session.items
    slow = [item.get_closest_marker("slow") is not None for item in items]
    assert slow == sorted(slow, reverse=True)  # no fast test before a slow one
    groups = {item.nodeid.split("::")[0]: {mark.args[0] for mark in item.iter_markers("xdist_group")} for item in items}
    if "tests/pipeline/test_pipeline_safety.py" in groups:  # its fixture runs every command on the example
        assert groups["tests/pipeline/test_pipeline_safety.py"] == {"test_pipeline_safety"}
    assert groups.get("tests/test_suite_setup.py", set()) == set()  # no shared fixture here
