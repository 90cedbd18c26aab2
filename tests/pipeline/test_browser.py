"""A run's pages in a real browser (issue 15): headless Chromium opens the index, every report and every document.

`make test` installs Chromium first (`make browser`: the Debian package ``chromium``); this test skips,
saying why, only when it is not installed. The run is the example pipeline for one case, in English and
in Dutch. Every page: no console error, no network request (the pages work offline), no traceback or
Python warning, no absolute path of this machine; reports and documents: no table wider than the page,
no ``NaN`` / ``None`` cell and no table header with a word split over two lines. A screenshot of every
page is kept in the run folder's ``checks/`` for a person to look at (``python tests/browser.py RUN_DIR`` does the same for any run).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import CHECKS_DIR, Browser, check_run, chromium_path, run_pages
from glossary_check import SNAKE_CASE, english_in
from ponzoni_eval.pipeline import run as run_module

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "raw" / "example"
NOTEBOOKS = ROOT / "notebooks"
FILE_NAME = re.compile(r"[\w.-]+\.(?:toml|csv|xlsx|html|md|qdpx|json)\b")  # a file a page names may keep its underscores

pytestmark = pytest.mark.slow  # two pipeline runs; the module stays on one worker (conftest: xdist_group)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed and `make browser` could not install it (apt-get install chromium needs root "
                    "and the Debian archive); the pages were not checked in a browser")
    with Browser(executable) as opened:
        yield opened


@pytest.fixture(scope="module", params=["en", "nl"])
def example_run(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"browser_{request.param}")
    result = run_module.run_pipeline(EXAMPLE, cases=["poelenburg_a", "poelenburg_b"], out=folder / "runs", processed_dir=folder / "processed",
                                     notebooks_dir=NOTEBOOKS, show_progress=False, language=request.param)
    assert result.ok, result.failure_messages()
    return request.param, result.run_dir


@pytest.fixture(scope="module")
def problems(example_run, browser):
    return check_run(example_run[1], browser)


def test_every_page_of_a_run_opens_cleanly_in_chromium(example_run, problems):
    language, run_dir = example_run
    pages = run_pages(run_dir)
    # two case reports, the cross-case report (two cases: it runs) and the joint display, each also with code
    assert len(pages["report"]) == 4 and len(pages["code"]) == 4 and pages["document"]
    # every page, the joint display's documents of integrate/export.py included: no table wider than the page,
    # no header cell with a word split over two lines (check_run)
    assert problems == {}
    assert {"documents/joint_display.html", "documents/statistics_by_themes.html", "documents/meta_matrix.html"} <= {
        page.relative_to(run_dir).as_posix() for page in pages["document"]}
    shots = sorted((run_dir / CHECKS_DIR).glob("*.png"))
    assert len(shots) == sum(len(found) for found in pages.values())
    assert all(shot.stat().st_size > 5000 for shot in shots)  # a page, not a blank


def test_the_reports_are_in_the_run_language_without_code(example_run, browser):
    language, run_dir = example_run
    for page in run_pages(run_dir)["report"]:
        found = browser.open(page)
        assert found.lang == language, page.name
        assert "import " not in found.text and "run_dir" not in found.text and "To adapt" not in found.text
        assert found.prose and not SNAKE_CASE.findall(found.prose), page.name  # no identifier reaches a reader
        if language != "en":  # a Dutch report holds no English word of the glossary (the cross-case report included)
            assert english_in(found.prose) == [], page.name


def test_the_documents_are_in_the_run_language_and_name_nothing_by_its_id(example_run, browser):
    """The joint display, meta-matrix and statistics-by-themes documents: cases, codes, roles and tests by their names."""
    language, run_dir = example_run
    documents = run_pages(run_dir)["document"]
    assert len(documents) >= 3
    for page in documents:
        found = browser.open(page)
        prose = FILE_NAME.sub(" ", found.prose)
        assert found.lang == language and prose.strip(), page.name
        assert SNAKE_CASE.findall(prose) == [], (page.name, sorted(set(SNAKE_CASE.findall(prose)))[:10])
        assert "poelenburg_a" not in found.text and "Poelenburg A" in found.text, page.name
        if language != "en":
            assert english_in(prose) == [], page.name
