"""prepare: validated raw -> typed parquet + manifest; atomic, idempotent, raw files untouched."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from ponzoni_eval import __version__
from ponzoni_eval.data import schema
from ponzoni_eval._core.errors import DataError, ValidationFailed
from ponzoni_eval.data.processed import load_processed
from ponzoni_eval._core.fingerprint import sha256_file
from ponzoni_eval.data.preparation import (
    REDACTION_NAMES_FILE,
    REDACTION_NOTE,
    prepare,
    processed_tables,
    redaction_terms,
)
from rawdata import QUOTE, add_row, move_interviews_to_qdpx, read_rows, set_cell, write_raw

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "raw" / "example"


def checksums(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir())}


@pytest.fixture
def raw(tmp_path):
    folder = write_raw(tmp_path / "raw")
    (folder / "dataset.toml").write_text('synthetic = true\ntitle = "tiny test set"\n', encoding="utf-8")
    return folder


def test_prepare_writes_typed_tables_and_manifest(raw, tmp_path):
    before = checksums(raw)
    out = tmp_path / "processed"
    manifest = prepare(raw, out)
    assert checksums(raw) == before  # raw files byte-identical, nothing added
    assert manifest["version"] == __version__
    assert manifest["dataset"] == {"synthetic": True, "title": "tiny test set"}
    assert manifest["validation"] == {"errors": 0, "warnings": 0}
    assert manifest["raw_files"]["survey_responses.csv"] == {
        "table": "survey_responses",
        "rows": 9,
        "bytes": (raw / "survey_responses.csv").stat().st_size,
        "sha256": before["survey_responses.csv"],
    }
    assert manifest["raw_files"]["dataset.toml"]["sha256"] == before["dataset.toml"]
    # every table of the raw folder; memos come only from a QDA project with notes, and this folder has none
    assert set(manifest["tables"]) == (set(schema.TABLES) - {"memos", "roles", "waves"}) | {"redaction_terms"}
    for entry in manifest["tables"].values():
        assert sha256_file(out / entry["file"]) == entry["sha256"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest

    tables = load_processed(out)
    participants = tables["participants"]
    assert "name" not in participants.columns
    assert participants.index.tolist() == [2, 3, 4, 5, 6]  # the raw spreadsheet rows
    assert participants["role"].cat.categories.tolist() == list(schema.ROLES)
    survey = tables["survey_responses"]
    assert survey["wave"].cat.ordered and survey["wave"].cat.categories.tolist() == ["t0", "t1", "t2"]
    # categories come from the defining table, so they agree across tables
    assert survey["participant_id"].cat.categories.tolist() == participants["participant_id"].cat.categories.tolist()
    assert tables["coded_segments"]["case_id"].cat.categories.tolist() == ["slo", "pa"]
    instrument = tables["instrument"]
    assert instrument.set_index("item_id").loc["fj_1", "level"] == "ordinal"  # documented default filled
    assert instrument.set_index("item_id").loc["trust_1", "waves"] == "t0;t1;t2"


def test_names_go_only_to_redaction_terms_with_a_warning_note(raw, tmp_path):
    set_cell(raw, "participants", 3, "name", "Ayşe; Ayse")
    out = tmp_path / "processed"
    manifest = prepare(raw, out)
    terms = load_processed(out)["redaction_terms"]
    assert terms[["participant_id", "term"]].astype(str).values.tolist() == [["SLO-P01", "Anouk"], ["SLO-M01", "Ayşe"], ["SLO-M01", "Ayse"], ["PA-O01", "Fatma"]]
    assert manifest["tables"]["redaction_terms"]["note"] == REDACTION_NOTE
    metadata = pq.read_schema(out / "redaction_terms.parquet").metadata
    assert metadata[b"ponzoni_eval.note"].decode() == REDACTION_NOTE
    for name, entry in manifest["tables"].items():
        if name != "redaction_terms":
            assert "Anouk" not in (out / entry["file"]).read_bytes().decode("latin-1")


def test_interview_texts_are_redacted_and_offsets_follow(raw, tmp_path):
    """Names of participants and of redaction_names.txt, in transcripts and quotes, with offsets moved."""
    text = "I: Dag Ayşe, hoe gaat het met juf Marieke?\nR: " + QUOTE
    set_cell(raw, "participants", 3, "name", "Ayşe Yılmaz")
    set_cell(raw, "documents", 2, "text", text)
    set_cell(raw, "coded_segments", 2, "start", str(text.index(QUOTE)))
    set_cell(raw, "coded_segments", 2, "end", str(len(text)))
    set_cell(raw, "coded_segments", 2, "text", QUOTE)
    add_segment = [text.index("Ayşe"), text.index("?")]
    add_row(raw, "coded_segments", {"document_id": "SLO-M01-t0", "participant_id": "SLO-M01", "case_id": "slo", "wave": "t0",
                                    "coder": "coder_1", "code": "growing_trust", "start": str(add_segment[0]), "end": str(add_segment[1]),
                                    "text": text[add_segment[0]:add_segment[1]]})
    (raw / REDACTION_NAMES_FILE).write_text("# staff of the school\nMarieke\n", encoding="utf-8")
    before = checksums(raw)
    out = tmp_path / "processed"
    manifest = prepare(raw, out)
    assert checksums(raw) == before
    tables = load_processed(out)
    terms = tables["redaction_terms"]
    owners = terms["participant_id"].astype(object).where(terms["participant_id"].notna(), None)
    assert list(zip(owners, terms["term"])) == [
        ("SLO-P01", "Anouk"), ("SLO-M01", "Ayşe Yılmaz"), ("PA-O01", "Fatma"), ("SLO-M01", "Ayşe"), ("SLO-M01", "Yılmaz"), (None, "Marieke")]
    document = tables["documents"]["text"].iloc[0]
    assert document == "I: Dag [NAAM], hoe gaat het met juf [NAAM]?\nR: " + QUOTE
    segments = tables["coded_segments"]
    sliced = [document[s:e] for s, e in zip(segments["start"], segments["end"])]
    assert sliced == segments["text"].tolist() == [QUOTE, "[NAAM], hoe gaat het met juf [NAAM]"]
    assert manifest["redaction"] == {"terms": 6, "replacements": {"documents": 2, "coded_segments": 2}}
    assert manifest["raw_files"][REDACTION_NAMES_FILE]["sha256"] == before[REDACTION_NAMES_FILE]
    for name, entry in manifest["tables"].items():  # only redaction_terms holds the names
        if name != "redaction_terms":
            data = (out / entry["file"]).read_bytes()
            assert b"Marieke" not in data and "Ayşe".encode() not in data, name
    assert "Marieke" not in (out / "manifest.json").read_text(encoding="utf-8")


def test_the_example_interview_texts_hold_no_participant_name_after_prepare(tmp_path):
    import re

    from ponzoni_eval.data.read import read_raw_dir
    from ponzoni_eval.privacy.names import participant_names

    raw_tables = read_raw_dir(EXAMPLE).tables
    names = participant_names(raw_tables["participants"])
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.IGNORECASE)
    assert raw_tables["documents"]["text"].str.contains(pattern).sum() > 10  # the check can fail: the raw texts name people
    prepare(EXAMPLE, tmp_path / "processed")
    tables = load_processed(tmp_path / "processed")
    for table in ("documents", "coded_segments"):
        assert not tables[table]["text"].str.contains(pattern).any(), table
    documents = tables["documents"].set_index("document_id")["text"]
    segments = tables["coded_segments"]
    sliced = [documents[d][s:e] for d, s, e in zip(segments["document_id"], segments["start"], segments["end"])]
    assert sliced == segments["text"].tolist()  # offsets count characters in the redacted transcripts


def test_prepare_twice_is_byte_identical_apart_from_the_time(raw, tmp_path):
    out = tmp_path / "processed"
    first = prepare(raw, out)
    parquet_first = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    second = prepare(raw, out)
    parquet_second = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    assert parquet_first == parquet_second
    assert {k: v for k, v in first.items() if k != "created"} == {k: v for k, v in second.items() if k != "created"}
    assert sorted(p.name for p in out.iterdir()) == sorted(list(parquet_first) + ["manifest.json"])


def test_invalid_data_raise_with_every_problem_and_write_nothing(raw, tmp_path):
    set_cell(raw, "survey_responses", 2, "value", "vier")
    set_cell(raw, "participants", 2, "role", "boss")
    out = tmp_path / "processed"
    with pytest.raises(ValidationFailed) as caught:
        prepare(raw, out)
    assert {(p.file, p.row, p.column) for p in caught.value.problems if p.severity == "error"} >= {
        ("survey_responses.csv", 2, "value"),
        ("participants.csv", 2, "role"),
    }
    assert not out.exists()


def test_output_folder_must_not_be_the_raw_folder(raw):
    with pytest.raises(DataError, match="must not be the raw folder"):
        prepare(raw, raw)


def test_tables_removed_from_raw_disappear_from_processed(raw, tmp_path):
    out = tmp_path / "processed"
    prepare(raw, out)
    (raw / "activity_log.csv").unlink()
    manifest = prepare(raw, out)
    assert "activity_log" not in manifest["tables"]
    assert not (out / "activity_log.parquet").exists()
    assert "activity_log" not in load_processed(out)


def test_example_prepares_and_keeps_raw_files(tmp_path):
    before = checksums(EXAMPLE)
    manifest = prepare(EXAMPLE, tmp_path / "processed")
    assert checksums(EXAMPLE) == before
    assert manifest["dataset"]["synthetic"] is True
    tables = load_processed(tmp_path / "processed")
    assert len(tables["survey_responses"]) == manifest["raw_files"]["survey_responses.csv"]["rows"]
    assert tables["coded_segments"]["code"].cat.categories.tolist() == tables["codebook"]["code"].astype(str).tolist()
    # the interviews come from the REFI-QDA project: recorded like any raw file, with what it supplied
    project = manifest["raw_files"]["interviews.qdpx"]
    assert project["sha256"] == before["interviews.qdpx"] and project["table"] is None
    assert project["imported_tables"] == {t: len(tables[t]) for t in ("coded_segments", "codebook", "documents")}
    assert project["import"]["counts"]["codings"] == len(tables["coded_segments"]) and project["import"]["warnings"] == []


def test_a_project_and_its_mapping_are_in_the_manifest(raw, tmp_path):
    set_cell(raw, "documents", 2, "case_id", "slotervaart")
    move_interviews_to_qdpx(raw)
    (raw / "qda_mapping.toml").write_text('[values.case_id]\nslotervaart = "slo"\n', encoding="utf-8")
    before = checksums(raw)
    manifest = prepare(raw, tmp_path / "processed")
    assert checksums(raw) == before
    assert manifest["raw_files"]["qda_mapping.toml"] == {"table": None, "bytes": (raw / "qda_mapping.toml").stat().st_size, "sha256": before["qda_mapping.toml"]}
    assert manifest["raw_files"]["interviews.qdpx"]["imported_tables"] == {"coded_segments": 1, "codebook": 2, "documents": 1}
    segments = load_processed(tmp_path / "processed")["coded_segments"]
    assert segments.index.tolist() == [1] and segments["case_id"].astype(str).tolist() == ["slo"]


def test_redaction_terms_split_and_strip():
    participants = pd.DataFrame({"participant_id": ["A1", "A2", "A3"], "case_id": ["c"] * 3, "name": ["Ayşe ; Ayse", None, " "]})
    assert redaction_terms(participants)[["participant_id", "term"]].values.tolist() == [["A1", "Ayşe"], ["A1", "Ayse"]]


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(schema.WAVES), min_size=1, max_size=30), st.lists(st.sampled_from(["P1", "P2", "P3"]), min_size=1, max_size=30))
def test_processed_tables_keep_rows_and_ids(waves, people):
    size = min(len(waves), len(people))
    survey = pd.DataFrame({"participant_id": people[:size], "wave": waves[:size], "value": range(size)}, index=range(2, size + 2)).astype({"participant_id": "str", "wave": "str"})
    participants = pd.DataFrame({"participant_id": ["P3", "P1", "P2"], "case_id": ["c"] * 3, "role": ["parent"] * 3}).astype("str")
    out = processed_tables({"participants": participants, "survey_responses": survey})
    assert out["survey_responses"].index.tolist() == survey.index.tolist()
    assert out["survey_responses"]["participant_id"].astype(str).tolist() == survey["participant_id"].tolist()
    assert out["survey_responses"]["wave"].astype(str).tolist() == survey["wave"].tolist()
    assert out["survey_responses"]["participant_id"].cat.categories.tolist() == ["P3", "P1", "P2"]
    again = processed_tables(out)
    pd.testing.assert_frame_equal(again["survey_responses"], out["survey_responses"])  # idempotent


def test_transcripts_redacted_in_a_second_process_give_the_same_bytes(tmp_path, monkeypatch):
    # Large data redact their transcripts in a spawned process during validation; forced here on the
    # example data, the processed folder must be byte-identical to the one redacted in-process.
    import ponzoni_eval.data.preparation as prepare_module

    inline = prepare(EXAMPLE, tmp_path / "inline")
    started = []
    original_init = prepare_module._BackgroundRedaction.__init__

    def recording_init(self, texts, names):
        started.append(len(texts))
        original_init(self, texts, names)

    monkeypatch.setattr(prepare_module, "BACKGROUND_REDACTION_CHARS", 0)
    monkeypatch.setattr(prepare_module._BackgroundRedaction, "__init__", recording_init)
    background = prepare(EXAMPLE, tmp_path / "background")
    assert started and started[0] == inline["tables"]["documents"]["rows"]  # the child did run
    assert {n: e["sha256"] for n, e in background["tables"].items()} == {n: e["sha256"] for n, e in inline["tables"].items()}
    assert background["redaction"] == inline["redaction"]


def test_background_redaction_is_used_only_for_its_own_inputs_and_never_outlives_prepare(tmp_path, monkeypatch):
    import ponzoni_eval.data.preparation as prepare_module
    from ponzoni_eval.data.read import read_raw_dir

    monkeypatch.setattr(prepare_module, "BACKGROUND_REDACTION_CHARS", 0)
    raw_data = read_raw_dir(EXAMPLE)
    texts = raw_data.tables["documents"]["text"].tolist()
    job = prepare_module._BackgroundRedaction.start(raw_data, [])
    assert job is not None
    names = list(job.names)
    assert job.result(texts[:-1], names) is None  # other texts: the caller must redact itself
    assert not job._process.is_alive()
    job = prepare_module._BackgroundRedaction.start(raw_data, [])
    redacted, spans = job.result(texts, names)
    assert len(redacted) == len(texts) and any(s is not None for s in spans) and "[NAAM]" in "".join(redacted)
    # invalid data: prepare raises, and the redaction process it started is gone
    bad = tmp_path / "raw"
    shutil.copytree(EXAMPLE, bad)
    set_cell(bad, "participants", 2, "role", "boss")
    children_before = set(multiprocessing.active_children())
    with pytest.raises(ValidationFailed):
        prepare(bad, tmp_path / "processed")
    assert set(multiprocessing.active_children()) <= children_before


def test_a_processed_folder_is_current_only_for_the_same_raw_files_code_and_tables(raw, tmp_path, monkeypatch):
    from ponzoni_eval._core import fingerprint
    from ponzoni_eval._core.fingerprint import is_current

    out = tmp_path / "processed"
    assert not is_current(raw, out)  # nothing there yet
    prepare(raw, out)
    assert is_current(raw, out)
    # a changed raw file, a new one, a hidden one (ignored)
    (raw / ".~lock.cases.csv#").write_text("editor lock", encoding="utf-8")
    assert is_current(raw, out)
    (raw / "notes.md").write_text("evaluator's notes", encoding="utf-8")
    assert not is_current(raw, out)
    prepare(raw, out)
    assert is_current(raw, out)
    value = read_rows(raw, "survey_responses")[1][read_rows(raw, "survey_responses")[0].index("value")]
    set_cell(raw, "survey_responses", 2, "value", "2" if value != "2" else "3")
    assert not is_current(raw, out)
    prepare(raw, out)
    # a processed table altered or removed after prepare
    table = out / "cases.parquet"
    original = table.read_bytes()
    table.write_bytes(original + b"\0")
    assert not is_current(raw, out)
    table.write_bytes(original)
    assert is_current(raw, out)
    # other code (an edited module), or a manifest of an older version without a fingerprint
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: "edited")
    assert not is_current(raw, out)
    monkeypatch.undo()
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({k: v for k, v in manifest.items() if k != "inputs_fingerprint"}))
    assert not is_current(raw, out)
