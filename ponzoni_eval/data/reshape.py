"""Wide survey files (one row per participant, a column per item and wave) to the long ``survey_responses`` table.

The usual SPSS or Excel survey file has one row per participant and columns
such as ``trust_1_t0``, ``trust_1_t1``. `reshape_wide` turns it into the long
table the package reads (participant x wave x item), naming the columns it
could not place; ``ponzoni-eval reshape-wide FILE --id COL --waves t0,t1``
writes it as ``survey_responses.csv`` and checks it against the schema.

Column names are matched with a pattern of placeholders: ``{item}`` (the
item id as in the instrument), ``{wave}`` (one of the wave labels given),
and optionally ``{scale}``, in which case the item id is ``{scale}_{item}``
(``'{scale}_{item}_{wave}'`` reads ``trust_1_t0`` as item ``trust_1``).

Examples
--------
>>> import pandas as pd
>>> wide = pd.DataFrame({"resp": ["p1", "p2"], "trust_1_t0": ["3", "4"], "trust_1_t1": ["4", ""]})
>>> long, unmatched = reshape_wide(wide, id_column="resp", waves=["t0", "t1"])
>>> long[["participant_id", "wave", "item_id", "value"]].to_dict("records")[:2]
[{'participant_id': 'p1', 'wave': 't0', 'item_id': 'trust_1', 'value': '3'}, {'participant_id': 'p1', 'wave': 't1', 'item_id': 'trust_1', 'value': '4'}]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from ponzoni_eval._core.errors import DataError
from ponzoni_eval._core.vocabulary import WAVES

__all__ = ["reshape_wide", "parse_waves", "column_pattern", "write_long", "DEFAULT_PATTERN", "LONG_COLUMNS"]

DEFAULT_PATTERN = "{item}_{wave}"
"""How a wide column is named by default: the item id, an underscore, the wave label (``trust_1_t0``)."""
LONG_COLUMNS = ["participant_id", "wave", "response_date", "item_id", "value", "missing_reason"]
"""The columns of the long table written (those of ``survey_responses``)."""


def parse_waves(text: str | Sequence[str]) -> dict[str, str]:
    """``"t0,t1"`` -> {"t0": "t0", "t1": "t1"}; ``"pre=t0,post=t2"`` -> {"pre": "t0", "post": "t2"} (label in the column -> wave).

    Raises
    ------
    DataError
        A wave that is not one of the study's waves, or a label given twice.
    """
    parts = [part.strip() for part in (text.split(",") if isinstance(text, str) else text) if str(part).strip()]
    mapping: dict[str, str] = {}
    for part in parts:
        label, _, wave = part.partition("=")
        label, wave = label.strip(), (wave or label).strip()
        if wave not in WAVES:
            raise DataError("unknown wave", column="--waves", expected=", ".join(WAVES) + " (or label=wave, e.g. pre=t0)", found=wave)
        if label in mapping:
            raise DataError("a wave label is given twice", column="--waves", found=label)
        mapping[label] = wave
    if not mapping:
        raise DataError("no waves given", column="--waves", expected="e.g. t0,t1")
    return mapping


def column_pattern(pattern: str, labels: Sequence[str]) -> re.Pattern[str]:
    """The regular expression of a column pattern (``{item}``, ``{wave}`` and optionally ``{scale}``)."""
    fields = re.findall(r"{(\w+)}", pattern)
    unknown = sorted(set(fields) - {"item", "wave", "scale"})
    if unknown or "item" not in fields or "wave" not in fields or len(fields) != len(set(fields)):
        raise DataError("the column pattern needs {item} and {wave} once each (and may have {scale})", column="--pattern",
                        found=pattern)
    regex = ""
    for literal, field in re.findall(r"([^{]*)(?:{(\w+)})?", pattern):
        regex += re.escape(literal)
        if field == "wave":
            regex += "(?P<wave>" + "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True)) + ")"
        elif field:
            regex += f"(?P<{field}>.+?)"
    return re.compile(f"^{regex}$")


def reshape_wide(
    wide: pd.DataFrame,
    *,
    id_column: str,
    waves: str | Sequence[str] | Mapping[str, str],
    pattern: str = DEFAULT_PATTERN,
    keep_empty: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """The long ``survey_responses`` rows of a wide survey table, and the columns the pattern did not place.

    Parameters
    ----------
    wide : DataFrame
        One row per participant (read as text: `ponzoni_eval.data.read_table_collecting`).
    id_column : str
        The column with the participant's pseudonym.
    waves : str, list or mapping
        The wave labels in the column names, as ``"t0,t1"`` or ``"pre=t0,post=t1"`` (`parse_waves`).
    pattern : str
        How item columns are named (`DEFAULT_PATTERN`; see the module's notes).
    keep_empty : bool
        Keep a row for every empty cell (an unanswered item). By default an
        empty cell gives no row: in a wide file it is mostly an item not asked
        of that person's role or in that wave, which `validate` would refuse.

    Returns
    -------
    (DataFrame, list of str)
        The long table (`LONG_COLUMNS`, text values as in the file, rows
        ordered by participant, wave and item) and the unplaced columns.

    Raises
    ------
    DataError
        The id column is missing or repeats an id, or no column matches the pattern.
    """
    labels = dict(waves) if isinstance(waves, Mapping) else parse_waves(waves)
    if id_column not in wide.columns:
        raise DataError("id column not found", column=id_column, expected="one of " + ", ".join(map(str, wide.columns[:20])))
    ids = wide[id_column].astype("string").str.strip()
    repeated = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(repeated):
        raise DataError("an id appears on more than one row (a wide file has one row per participant)", column=id_column,
                        row=int(repeated.index[0]) if isinstance(repeated.index[0], (int,)) else None, found=str(repeated.iloc[0]))
    regex = column_pattern(pattern, list(labels))
    placed, unmatched = [], []
    for column in wide.columns:
        if column == id_column:
            continue
        match = regex.match(str(column))
        if match is None:
            unmatched.append(str(column))
            continue
        parts = match.groupdict()
        item = f"{parts['scale']}_{parts['item']}" if parts.get("scale") else parts["item"]
        placed.append((str(column), labels[parts["wave"]], item))
    if not placed:
        raise DataError("no column matches the pattern", column="--pattern", expected=pattern.replace("{wave}", "|".join(labels)),
                        found=", ".join(unmatched[:10]))
    order = {wave: i for i, wave in enumerate(WAVES)}
    frames = []
    for column, wave, item in placed:
        frames.append(pd.DataFrame({"participant_id": ids, "wave": wave, "item_id": item,
                                    "value": wide[column].astype("string")}))
    long = pd.concat(frames, ignore_index=True)
    long = long.loc[long["participant_id"].notna() & (long["participant_id"] != "")]
    if not keep_empty:  # an empty cell of a wide file is usually an item not asked of that person (role, wave)
        long = long.loc[long["value"].notna() & (long["value"].str.strip() != "")]
    long["response_date"] = pd.NA
    long["missing_reason"] = pd.NA
    long = long.assign(_wave=long["wave"].map(order)).sort_values(["participant_id", "_wave", "item_id"], kind="stable")
    return long.loc[:, LONG_COLUMNS].reset_index(drop=True), unmatched


def write_long(long: pd.DataFrame, out_file: Path) -> Path:
    """Write the long table as UTF-8 CSV (never over an existing file)."""
    from ponzoni_eval._core.files import atomic_write_text

    if out_file.exists():
        raise DataError("will not overwrite an existing file", file=str(out_file), expected="a new file name (--out)")
    atomic_write_text(out_file, long.to_csv(index=False, lineterminator="\n"))
    return out_file
