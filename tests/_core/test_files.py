"""The one atomic writer and the one zip writer (`ponzoni_eval._core.files`)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ponzoni_eval._core import files  # noqa: E402
from ponzoni_eval._core.errors import DataError  # noqa: E402
from ponzoni_eval.report.plots import save  # noqa: E402


@pytest.fixture
def strict_umask():
    """A umask that would make files 0600: the writer must still give 0644."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_every_writer_gives_mode_0644_whatever_the_umask(tmp_path, strict_umask):
    written = [
        files.atomic_write_bytes(tmp_path / "a.bin", b"x"),
        files.atomic_write_text(tmp_path / "b.txt", "y"),
        files.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "c.csv"),
        files.write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "d.parquet"),
    ]
    figure, axes = plt.subplots()
    axes.plot([0, 1], [0, 1])
    written += list(save(figure, tmp_path / "figures" / "line").values())
    plt.close(figure)
    assert [_mode(path) for path in written] == [0o644] * len(written)


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = files.atomic_write_bytes(tmp_path / "t.txt", b"old")
    with pytest.raises(RuntimeError, match="disk full"), files.atomic_target(target) as temporary:
        temporary.write_bytes(b"half of the ne")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_a_failed_replace_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = files.atomic_write_bytes(tmp_path / "t.txt", b"old")

    def refuse(source, destination):
        raise OSError("replace refused")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError, match="replace refused"):
        files.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_the_content_is_complete_before_it_replaces_the_old_file(tmp_path, monkeypatch):
    target = files.atomic_write_bytes(tmp_path / "t.txt", b"old")
    seen = []
    real_replace = os.replace
    synced = []
    real_fsync = os.fsync

    def spy_fsync(descriptor):
        synced.append(descriptor)
        return real_fsync(descriptor)

    def spy_replace(source, destination):
        seen.append((Path(source).parent, Path(source).read_bytes(), Path(destination).read_bytes(), len(synced)))
        return real_replace(source, destination)

    monkeypatch.setattr(files.os, "replace", spy_replace)
    monkeypatch.setattr(files.os, "fsync", spy_fsync)
    files.atomic_write_bytes(target, b"new content")
    assert seen == [(tmp_path, b"new content", b"old", 1)]  # same folder, whole file, fsynced, old file intact until then
    assert len(synced) == 2  # the file, then the folder
    assert target.read_bytes() == b"new content"


def test_a_folder_is_not_overwritten(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="is a folder"):
        files.atomic_write_bytes(tmp_path / "folder", b"x")


def test_the_zip_writer_keeps_the_order_and_fixes_times_and_permissions():
    data = files.deterministic_zip([("b.txt", b"2"), ("a/c.txt", b"3"), ("a.txt", b"1")])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["b.txt", "a/c.txt", "a.txt"]
        assert {i.date_time for i in infos} == {files.ZIP_TIMESTAMP}
        assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        assert archive.read("a/c.txt") == b"3"
    assert files.deterministic_zip(iter([("b.txt", b"2"), ("a/c.txt", b"3"), ("a.txt", b"1")])) == data


def test_the_zip_writer_compresses_when_asked_and_rejects_a_repeated_name():
    data = files.deterministic_zip([("a.txt", b"a" * 1000)], compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.infolist()[0].compress_type == zipfile.ZIP_DEFLATED
        assert archive.read("a.txt") == b"a" * 1000
    with pytest.raises(DataError, match="given twice"):
        files.deterministic_zip([("a.txt", b"1"), ("a.txt", b"2")])
