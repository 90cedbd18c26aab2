"""The evaluator's TOML files (analysis plan, integration map, QDA mapping, dataset description), read safely.

One reader for every optional TOML file of a data folder, so that each hostile or damaged file is
a located `DataError` (issue 19), never a traceback and never a silent misread:

- a special file (named pipe, device) or a folder is refused as such, before it is opened, and so is a
  symbolic link to a file outside the file's folder (it could make the package read and quote any file);
- a file larger than `MAX_TOML_BYTES` is refused by its size (these files are a few kilobytes);
- UTF-16/32 text (a byte-order mark) and text that is not UTF-8 are named, with the line of the
  first byte that cannot be read; a UTF-8 byte-order mark (Windows Notepad) is accepted;
- invalid TOML gives the line (as ``row``) and column of the parser;
- a whole number outside 64 bits is refused naming its key (``column``): TOML allows no more,
  and a number that large cannot be a setting.

It imports only the standard library and `_core.errors` (light, like the rest of `_core`).
"""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ponzoni_eval._core.errors import DataError

__all__ = ["MAX_TOML_BYTES", "read_toml", "read_settings_file", "check_keys"]

MAX_TOML_BYTES = 1024 * 1024
"""Largest TOML file read (1 MiB): the package's own plan and map are under 10 KiB."""

_INT64 = 2**63
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
_SPECIAL = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def read_toml(path: str | Path, *, rule: str, label: str | None = None, allow_empty: bool = True) -> dict[str, Any]:
    """Parse a TOML file or raise a `DataError` naming ``label`` (default: the file's name), line and key.

    Parameters
    ----------
    path : path-like
        The file.
    rule : str
        The rule name of every error (``"analysis_plan"``, ``"integration_map"``, ``"mapping"``, ...).
    label : str, optional
        How the file is named in a message (default: its name, never its folder).
    allow_empty : bool
        Whether a file of zero bytes (or only white space) is an empty table; else a `DataError`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "plan.toml").write_bytes(b"alpha = 0.05\\n")
    13
    >>> read_toml(folder / "plan.toml", rule="analysis_plan")
    {'alpha': 0.05}
    >>> (folder / "plan.toml").write_bytes(b"small_n = 99999999999999999999\\n")
    31
    >>> read_toml(folder / "plan.toml", rule="analysis_plan")
    Traceback (most recent call last):
    ...
    ponzoni_eval._core.errors.DataError: plan.toml, row 1, column 'small_n': the number is too large for a setting (found '99999999999999999999')
    """
    path = Path(path)
    name = label or path.name
    if path.is_symlink() and path.parent.resolve() not in path.resolve().parents:
        raise DataError("is a symbolic link to a file outside its folder; it is not read (copy the file into the "
                        "folder)", file=name, rule=rule)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DataError("file not found", file=name, rule=rule) from None
    for test, kind in _SPECIAL:
        if test(mode):
            raise DataError(f"is not a regular file but {kind}; give a TOML text file", file=name, rule=rule)
    with open(path, "rb") as handle:
        data = handle.read(MAX_TOML_BYTES + 1)
    if len(data) > MAX_TOML_BYTES:
        raise DataError(f"is larger than {MAX_TOML_BYTES:,} bytes: not a settings file of this package (these are a few "
                        "kilobytes); give the right file", file=name, rule=rule)
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            raise DataError(f"is {encoding} text; save it as UTF-8 (in a text editor: 'Save as', encoding UTF-8)",
                            file=name, rule=rule)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"is not UTF-8 text (byte {exc.start:,} cannot be read; Windows-1252 perhaps); save it as UTF-8 "
                        "(in a text editor: 'Save as', encoding UTF-8)", file=name, row=line, rule=rule) from None
    if not text.strip():
        if allow_empty:
            return {}
        raise DataError("the file is empty; write its settings (see the template) or delete it to use the defaults",
                        file=name, rule=rule)
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"at line (\d+), column (\d+)", str(exc))
        raise DataError(f"not valid TOML: {exc}", file=name, row=int(where.group(1)) if where else None,
                        rule=rule) from None
    _check_numbers(parsed, (), text, name, rule)
    return parsed


def read_settings_file(path: str | Path | None, *, filename: str, default: Path, what: str, rule: str) -> tuple[Path, dict[str, Any]]:
    """Find and read one settings file of a data folder (analysis plan, integration map): the file and its table.

    Precedence: an explicit file; else ``<folder>/<filename>`` when the folder has one (a folder or pipe by
    that name is not skipped: `read_toml` refuses it); else ``default`` (also for None). An explicit file
    that does not exist is a `DataError` "<what> not found" (rule ``exists``). The file is read by
    `read_toml` (named by its path, an empty file refused).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> default = folder / "default.toml"
    >>> _ = default.write_text("x = 1\\n", encoding="utf-8")
    >>> file, table = read_settings_file(folder, filename="plan.toml", default=default, what="plan", rule="plan")
    >>> file.name, table
    ('default.toml', {'x': 1})
    >>> read_settings_file(folder / "missing.toml", filename="plan.toml", default=default, what="plan", rule="plan")
    Traceback (most recent call last):
    ...
    ponzoni_eval._core.errors.DataError: ...missing.toml: plan not found
    """
    if path is None:
        file = Path(default)
    else:
        file = Path(path)
        if file.is_dir():
            candidate = file / filename
            file = candidate if candidate.exists() else Path(default)
        elif not file.exists():
            raise DataError(f"{what} not found", file=str(file), rule="exists")
    return file, read_toml(file, rule=rule, label=str(file), allow_empty=False)  # encoding, size, syntax, 64-bit numbers: located


def check_keys(table: Mapping, allowed: Iterable[str], required: Iterable[str], where: str,
               error: Callable[..., DataError]) -> None:
    """Refuse an unknown or a missing key of a settings table: ``error(key, message, expected=..., found=...)``.

    ``where`` is the dotted key of the table ("" at the top); the key named is ``where.key``.
    """
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise error(f"{where}.{key}" if where else key, "unknown key", expected="one of " + ", ".join(allowed), found=key)
    for key in required:
        if key not in table:
            raise error(f"{where}.{key}" if where else key, "missing")


def _check_numbers(value: Any, key: tuple[str, ...], text: str, name: str, rule: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _check_numbers(v, (*key, str(k)), text, name, rule)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_numbers(v, key[:-1] + (f"{key[-1]}[{i}]",) if key else (f"[{i}]",), text, name, rule)
    elif isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        shown = str(value) if len(str(value)) <= 30 else f"{str(value)[:12]}... ({len(str(value))} digits)"
        raise DataError("the number is too large for a setting", file=name, row=_line_of(text, key), column=".".join(key),
                        found=shown, rule=rule)


def _line_of(text: str, key: tuple[str, ...]) -> int | None:
    """The line where the last part of a key is set (a hint for the reader; None when not found)."""
    last = re.sub(r"\[\d+\]$", "", key[-1]) if key else ""
    found = re.search(rf"^[ \t]*[\"']?{re.escape(last)}[\"']?[ \t]*=", text, re.MULTILINE) if last else None
    return text[: found.start()].count("\n") + 1 if found else None
