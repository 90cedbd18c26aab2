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
# # Cross-case comparison
#
# **Question.** Do the cases (Slotervaart, Poelenburg A and B) differ in how trust, willingness and
# help-seeking developed, and what do they have in common?
#
# **Inputs.** The processed tables in `processed_dir` (written by `ponzoni-eval prepare`; this notebook
# never reads `data/raw/`), for the cases in `cases`.
#
# **Outputs.** Tables and figures, also in the run folder (`run_dir`) when one is given.
#
# *For students.* `ponzoni-eval run` executes this notebook once per run, after the case reports, with
# the parameters of the next cell replaced. Opened by hand it compares every case and writes nothing.

# %% tags=["parameters"]
case_id = "all"  # cross-case results carry case_id "all"
cases = None  # the cases to compare; None means every case in the data
processed_dir = "../data/processed"  # where `ponzoni-eval prepare` wrote the tables
run_dir = None  # the run folder to write tables and figures to; None writes nothing
alpha = 0.05  # significance level for every test in this report
seed = 20170616  # seed for everything random (bootstrap confidence intervals)
language = "en"  # language of generated sentences and captions: "en" or "nl"

# %% [markdown]
# ## Set-up
#
# The same helpers as in the case report; outputs of this notebook are saved under their own names.
# The banner marks synthetic data.

# %%
# NBVAL_CHECK_OUTPUT
from ponzoni_eval import quality, report
from ponzoni_eval.io import load_processed

run = report.open_run(run_dir, "02_cross_case")
tables = load_processed(processed_dir)  # checks each file against the manifest written by prepare
report.synthetic_banner(processed_dir, language=language)

# %% [markdown]
# ## 1. Data quality across the cases
#
# How many people take part per case and role, and how many responded in each wave. Cases of very
# different size weigh differently in the pooled models below.

# %%
# NBVAL_CHECK_OUTPUT
checks = quality.data_quality(tables, cases)
run.save_table(checks["sample"], "sample_by_case", caption="Participants per case and role.")

# %%
# NBVAL_CHECK_OUTPUT
run.save_table(checks["response"], "response_by_case", caption="Participants who responded, per case, role and wave.")

# %% [markdown]
# ## 2. Differences between the cases
#
# *To come:* Kruskal-Wallis tests per scale and wave with Dunn's pairwise comparisons (Holm-adjusted).

# %% [markdown]
# ## 3. Change over time in all cases together
#
# *To come:* a linear mixed model of each scale over the waves with case as a factor (participants
# nested in cases), and an ordinal model for single Likert items.

# %% [markdown]
# ## 4. Help-seeking side by side
#
# *To come:* the monthly series of parenting questions and referrals of every case, aligned on the
# month the collaboration started.

# %% [markdown]
# ## 5. In words
#
# *To come:* one generated sentence per result, with the numbers from the tables above.
