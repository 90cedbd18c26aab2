"""The run folder's index.html (`ponzoni_eval.pipeline.index.write_index`) speaks the run's language (issue 14)."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from glossary_check import english_in  # noqa: E402

from ponzoni_eval._core.words import term  # noqa: E402
from ponzoni_eval.pipeline.index import write_index  # noqa: E402


class _Text(HTMLParser):
    """The page's visible text (no style, no tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag, attrs):
        self._skip = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def _run_folder(tmp_path: Path, language: str) -> Path:
    run_dir = tmp_path / "run"
    for name in ("html/01_case_report-slotervaart.html", "html/01_case_report-slotervaart-code.html",
                 "executed/01_case_report-slotervaart.ipynb", "figures/perception_gap.png", "figures/perception_gap.svg",
                 "tables/sample.csv", "tables/sample.parquet"):
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_text("x", encoding="utf-8")
    manifest = {
        "run_id": "20261206-160000-abcd", "dataset": {"synthetic": True}, "status": "failed",
        "started": "2026-12-06T16:00:00", "duration_s": 12.34,
        "parameters": {"data_dir": "data/raw/example", "cases": ["slotervaart"], "language": language, "alpha": 0.05, "seed": 1},
        "git": {"commit": "0123456789abcdef", "dirty": True},
        "environment": {"packages": {"ponzoni-eval": "0.9"}, "python": "3.12"},
        "notebooks": [
            {"name": "01_case_report-slotervaart", "case_id": "slotervaart", "status": "failed", "duration_s": 3.25,
             "error": {"ename": "DataError", "cell_index": 4},
             "html": {"report": "html/01_case_report-slotervaart.html", "code": "html/01_case_report-slotervaart-code.html"},
             "executed": "executed/01_case_report-slotervaart.ipynb"},
            {"name": "02_cross_case", "case_id": None, "status": "ok", "duration_s": 1.5, "error": None,
             "html": {"report": "html/02_cross_case.html", "code": "html/02_cross_case-code.html"},
             "executed": "executed/02_cross_case.ipynb"},
        ],
    }
    registry = {"figures": [{"name": "perception_gap", "caption": "Een bijschrift.",
                             "files": {"png": "figures/perception_gap.png", "svg": "figures/perception_gap.svg"}}],
                "tables": [{"name": "sample_all", "caption": "", "rows": 3, "files": {"csv": "tables/sample.csv", "parquet": "tables/sample.parquet"}}],
                "documents": [{"name": "case_order", "caption": "", "files": {"html": "documents/case_order.html"}}]}
    plan_rows = [{"notebook": "03_joint_display", "section": term("plan.whole_notebook", language),
                  "case": term("plan.all_cases", language), "runs": term("plan.no", language),
                  "reason": term("plan.reason.no_interviews", language)}]
    write_index(run_dir, manifest, registry, plan_rows=plan_rows, language=language)
    return run_dir


def test_a_dutch_run_has_a_dutch_index(tmp_path):
    page = (_run_folder(tmp_path, "nl") / "index.html").read_text(encoding="utf-8")
    assert '<html lang="nl">' in page
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", page)
    assert headings == ["Rapporten", "Uitvoeringsplan: wat de data toelaten", "Figuren", "Tabellen", "Documenten"]
    text = visible_text(page)
    assert english_in(re.sub(r"\S*[_/.]\S*", " ", text)) == []  # ids, paths and file names aside
    assert "SYNTHETISCHE VOORBEELDDATA" in text and "mislukt: DataError in cel 4" in text
    assert "duurde 12,3 s" in text and "3,2 s" in text and "alfa 0,05" in text  # decimal comma
    assert "rapport · met code · notebook" in text and "geen interviews in deze dataset" in text
    for english in ("Reports", "Figures", "Tables", "Started", "took", "with code", "Check it yourself", "in cell"):
        assert english not in text


def test_an_english_run_keeps_its_english_index(tmp_path):
    page = (_run_folder(tmp_path, "en") / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert re.findall(r"<h2[^>]*>(.*?)</h2>", page)[0] == "Reports"
    text = visible_text(page)
    assert "took 12.3 s" in text and "failed: DataError in cell 4" in text and "report · with code · notebook" in text


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_index_links_only_files_that_exist(tmp_path, language):
    page = (_run_folder(tmp_path, language) / "index.html").read_text(encoding="utf-8")
    assert "02_cross_case.html" not in page and "html/01_case_report-slotervaart-code.html" in page
