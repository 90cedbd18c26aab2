# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Case report
#
# **Question.** How did the collaboration between the youth team (formal parenting support) and the
# migrant organisation(s) develop in this case: did trust grow, do both sides misjudge each other's
# willingness, do their expectations differ, and did parents start to seek help?
#
# **Inputs.** The processed tables in `processed_dir`, written by `ponzoni-eval prepare` from the raw
# data (this notebook never reads `data/raw/`): `cases`, `participants`, `instrument`,
# `survey_responses`, and where the evaluators collected them `activity_log`, `coded_segments` and
# `codebook`.
#
# **Outputs.** Every table and figure is also written to the run folder (`run_dir`), as CSV and
# parquet or PNG and SVG; the run's `index.html` lists them.
#
# *For students.* `ponzoni-eval run` executes this notebook once per case with papermill, which
# replaces the values in the next cell. Opened by hand (`make lab`), it uses those values as they are:
# it shows every result and writes nothing (`run_dir = None`).

# %% tags=["parameters"]
case_id = "slotervaart"  # the case this report is about
processed_dir = "../data/processed"  # where `ponzoni-eval prepare` wrote the tables
run_dir = None  # the run folder to write tables and figures to; None writes nothing
alpha = 0.05  # significance level for every test in this report
seed = 20170616  # seed for everything random (bootstrap confidence intervals)
language = "en"  # language of generated sentences and captions: "en" or "nl"

# %% [markdown]
# ## Set-up
#
# `open_run` ties the output helpers to this run, notebook and case, so each table below is saved
# as `<case_id>-<name>`. The tables are read once; the analyses only use package functions, so
# everything they compute is tested in `tests/`. `tables` also holds `redaction_terms`, the names by
# which participants may appear in interview text (used to redact quotes): never show or save it.
# A red banner appears when the data are synthetic: the numbers then illustrate the method and are
# not findings.

# %%
# NBVAL_CHECK_OUTPUT
from ponzoni_eval import quality, report
from ponzoni_eval.io import load_processed

run = report.open_run(run_dir, "01_case_report", case_id=case_id)
tables = load_processed(processed_dir)  # checks each file against the manifest written by prepare
report.synthetic_banner(processed_dir, language=language)

# %% [markdown]
# ## 1. Data quality
#
# Before any result: how many people take part in each role, how many of them answered in each
# wave, and how many answers are missing. Every later number rests on these counts; a role with very
# few respondents gives wide confidence intervals, and many missing answers in one wave can bias a
# change score.
#
# ### 1.1 Participants per role
#
# Every role of the study is listed, also when nobody in this case has it (0).

# %%
# NBVAL_CHECK_OUTPUT
checks = quality.data_quality(tables, case_id)
run.save_table(checks["sample"], "sample", caption=f"Participants per role in case {case_id}.")

# %% [markdown]
# ### 1.2 Response per wave
#
# A participant responded in a wave when at least one answer in that wave is not missing.
# `share_responding` is a proportion (0 to 1); it is empty for a role without participants.

# %%
# NBVAL_CHECK_OUTPUT
run.save_table(checks["response"], "response", caption=f"Participants who responded, per role and wave, in case {case_id}.")

# %% [markdown]
# ### 1.3 Missing answers per scale
#
# Of the answer rows present, how many are empty, per role, wave and scale.

# %%
# NBVAL_CHECK_OUTPUT
run.save_table(checks["missingness"], "missingness", caption=f"Missing answers per role, wave and scale in case {case_id}.")

# %% [markdown]
# ## 2. Reliability of the scales
#
# *To come:* Cronbach's alpha and McDonald's omega per scale and wave, with 95% confidence intervals.

# %% [markdown]
# ## 3. Change over the waves
#
# *To come:* trust, willingness and the other scales from before (t0) to after the joint positive goal
# (t1) and at follow-up (t2): paired tests with Hedges' g_av and rank-biserial r, each with a 95% CI.

# %% [markdown]
# ## 4. Perception gap
#
# *To come:* each side's own willingness to collaborate against how willing it thinks the other side
# is, per role, with the effect size and its CI.

# %% [markdown]
# ## 5. Expectation mismatch
#
# *To come:* what migrant organisations expect of professionals (strengthen the organisation) against
# what professionals expect of them (a bridge to parents): a crosstab with an exact test.

# %% [markdown]
# ## 6. Help-seeking over time
#
# *To come:* parenting questions and referrals reaching the youth team per month, before and after the
# collaboration started (interrupted time series).

# %% [markdown]
# ## 7. Themes from the interviews
#
# *To come:* how many participants mentioned each theme (quantitized codes), with example quotes.

# %% [markdown]
# ## 8. In words
#
# *To come:* one generated sentence per result, with the numbers from the tables above.
