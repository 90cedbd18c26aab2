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
# # Joint display: numbers and interviews together
#
# **Question.** Where do the survey and activity numbers and the interview themes agree, where does one
# add to the other, and where do they contradict each other (confirmation, expansion, discordance)?
#
# **Inputs.** The processed tables in `processed_dir` (written by `ponzoni-eval prepare`; this notebook
# never reads `data/raw/`), for the cases in `cases`: the survey tables and, for the qualitative
# strand, `coded_segments` and `codebook`.
#
# **Outputs.** The joint display and the meta-inferences, also in the run folder (`run_dir`) when one
# is given.
#
# *For students.* `ponzoni-eval run` executes this notebook once per run with the parameters of the next
# cell replaced. Opened by hand it uses every case and writes nothing.

# %% tags=["parameters"]
case_id = "all"  # the joint display covers every case in `cases`
cases = None  # the cases to include; None means every case in the data
processed_dir = "../data/processed"  # where `ponzoni-eval prepare` wrote the tables
run_dir = None  # the run folder to write tables and figures to; None writes nothing
alpha = 0.05  # significance level for every test in this report
seed = 20170616  # seed for everything random (bootstrap confidence intervals)
language = "en"  # language of generated sentences and captions: "en" or "nl"

# %% [markdown]
# ## Set-up
#
# The same helpers as in the other reports. The banner marks synthetic data.

# %%
# NBVAL_CHECK_OUTPUT
from ponzoni_eval import quality, report
from ponzoni_eval.io import load_processed

run = report.open_run(run_dir, "03_joint_display")
tables = load_processed(processed_dir)  # checks each file against the manifest written by prepare
report.synthetic_banner(processed_dir, language=language)

# %% [markdown]
# ## 1. Who the two strands rest on
#
# The survey participants per case and role. The interviewees per case will be added beside them once
# the qualitative import is in place, so a reader sees whether both strands speak for the same people.

# %%
# NBVAL_CHECK_OUTPUT
checks = quality.data_quality(tables, cases)
run.save_table(checks["sample"], "survey_sample", caption="Survey participants per case and role.")

# %% [markdown]
# ## 2. Integration map
#
# *To come:* which construct is measured by which survey scale, activity count and interview code.

# %% [markdown]
# ## 3. Joint display
#
# *To come:* one row per construct and case: the quantitative result, the theme with exemplar quotes,
# and the fit of the two (confirmation, expansion or discordance).

# %% [markdown]
# ## 4. Meta-inferences
#
# *To come:* what the two strands say together, per construct, generated from the joint display.
