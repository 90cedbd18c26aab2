"""Constants live once, in `ponzoni_eval.config`, and every default uses them."""

from __future__ import annotations

import importlib
import inspect

import pytest
from typer.testing import CliRunner

from ponzoni_eval import cli, config, data, privacy, qual, stats
from ponzoni_eval._core import words
from ponzoni_eval.integrate import DisplayOptions
from ponzoni_eval.pipeline import run as run_module
from ponzoni_eval.report import sections
from ponzoni_eval.stats import crosstab, ranks

generate = importlib.import_module("ponzoni_eval.data.synthetic.generate")  # the module; the package re-exports its function

SEEDED = [
    stats.crosstab_test, stats.expectation_crosstab, ranks.kruskal_dunn, qual.agreement, qual.theme_crosstab,
    qual.agreement_coefficients, generate.generate, generate.write_example, generate.effects,
    sections.expectations_section, sections.agreement_section, sections.kruskal_dunn_section,
    sections.theme_heatmap_section, sections.expectations_cross_section, sections.joint_display_inputs,
    run_module.run_pipeline,
]


@pytest.mark.parametrize("function", SEEDED, ids=lambda f: f"{f.__module__}.{f.__qualname__}")
def test_every_seed_default_is_the_project_seed(function):
    assert inspect.signature(function).parameters["seed"].default == config.DEFAULT_SEED == 20170616


def test_the_reexported_constants_are_the_config_ones():
    assert stats.DEFAULT_SEED is config.DEFAULT_SEED and crosstab.DEFAULT_SEED is config.DEFAULT_SEED
    assert data.DEFAULT_SEED is config.DEFAULT_SEED and run_module.DEFAULT_SEED is config.DEFAULT_SEED
    assert privacy.DEFAULT_MIN_CELL is config.DEFAULT_MIN_CELL
    assert run_module.LANGUAGES is words.LANGUAGES  # the languages are the words files (resources/words/)


def test_the_cli_example_seed_is_the_project_seed():
    help_text = CliRunner().invoke(cli.app, ["example", "--help"], terminal_width=200).output
    assert f"default: {config.DEFAULT_SEED}" in help_text


def test_an_unknown_language_is_refused_with_the_configured_ones():
    with pytest.raises(ValueError, match=r"language must be one of \['en', 'nl'\]"):
        DisplayOptions(language="de")
