"""The committed data dictionary is the rendering of the schemas (so they never drift)."""

from __future__ import annotations

from pathlib import Path

from ponzoni_eval.data import schema
from ponzoni_eval.data.dictionary import render_dictionary, render_template_guide
from ponzoni_eval.data.validate import CROSS_TABLE_RULES

DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"


def test_committed_dictionary_equals_the_rendering():
    assert DICTIONARY.read_text(encoding="utf-8") == render_dictionary(), "run `make dictionary` and commit docs/data-dictionary.md"


def test_dictionary_lists_every_table_column_and_rule():
    text = render_dictionary()
    for table, spec in schema.TABLES.items():
        assert f"### {table}" in text
        for column in spec.schema.columns:
            assert f"| `{column}` |" in text
    for rule in CROSS_TABLE_RULES:
        assert f"| `{rule}` |" in text


def test_dictionary_rows_show_type_requirement_and_allowed_values():
    lines = render_dictionary().splitlines()
    role = next(line for line in lines if line.startswith("| `role` |"))
    assert role.startswith("| `role` | text | required | one of: `professional`, `migrant_org`, `parent` |")
    count = next(line for line in lines if line.startswith("| `count` |"))
    assert "| whole number | required | >= 0 |" in count
    waves = next(line for line in lines if line.startswith("| `waves` |"))
    assert "| text | optional | waves must be a ';'-separated list of t0, t1, t2 |" in waves
    assert "each `participant_id` / `wave` / `item_id` combination appears once" in render_dictionary()


def test_template_guide_names_every_table_and_the_workflow():
    guide = render_template_guide()
    for table, spec in schema.TABLES.items():
        assert f"### `{table}.csv` ({'required' if spec.required else 'optional'})" in guide
    assert "ponzoni-eval validate THIS_FOLDER" in guide and "ponzoni-eval run THIS_FOLDER" in guide
