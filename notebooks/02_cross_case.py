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
# **Question.** Do the cases in the data (the example's: Slotervaart, Poelenburg A and B) differ in how trust, willingness and
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
alpha = 0.05  # significance level; this report gives exact p-values and 95% CIs, so alpha is only recorded
seed = 20170616  # seed for everything random (bootstrap confidence intervals)
language = "en"  # language of generated sentences and captions: "en" or "nl"
before = None  # first wave of the change comparisons; None: the first wave in the data
after = None  # second wave of the change comparisons; None: the last wave in the data

# %% [markdown]
# ## Set-up
#
# The same helpers as in the case report; outputs of this notebook are saved under their own names.
# The scale scores are computed once and passed to every section (each one function of
# `ponzoni_eval.report.sections`, tested in `tests/`). The banner marks synthetic data. `plan` is the run
# plan (`report.plan_for`): a section the data do not allow (one wave, no interviews in two cases, ...)
# is not computed and says why. `ponzoni-eval run` runs this report only with two or more cases.

# %%
# NBVAL_CHECK_OUTPUT
from ponzoni_eval import report
from ponzoni_eval.data import load_processed
from ponzoni_eval.report import quality, sections

run = report.open_run(run_dir, "02_cross_case")
tables = load_processed(processed_dir)  # checks each file against the manifest written by prepare
report.use_display_names(tables)  # cases by their name (cases.name) in titles, sentences and figures; ids stay in the data
scores = sections.scores_for(tables)  # scale scores of every participant, computed once for all sections
plan = report.plan_for(tables, cases, before=before, after=after)  # what the data allow
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
# ## 2. Trajectories side by side
#
# **What is computed.** The model-based mean of every scale per case and wave: the estimated marginal
# means of the mixed model in the next section (professionals and migrant organisations averaged by
# their share of the answers), with 95% confidence intervals. Unlike raw means they use every answer,
# also of people who dropped out later. The figure shows trust.
#
# **To adapt.** `scale="perceived_willingness"` draws another scale.

# %%
trajectories = report.planned(
    run, plan, "trajectories",
    lambda: sections.cross_case_trajectories_section(scores, cases, scale="trust", before=plan.before, after=plan.after, language=language),
    language=language,
)
trajectories.figure

# %%
# NBVAL_CHECK_OUTPUT
print(trajectories.sentence)
sections.rounded(trajectories.table)

# %% [markdown]
# ## 3. Change over time in all cases together: the mixed model
#
# **What is computed.** For every scale measured at t0 and t2, one linear mixed model of all answers
# of all cases: wave x case as fixed effects (plus role), a random intercept per participant (the
# same person answers more than once). From it: the change t0 -> t2 in each case, and the
# differences of that change between cases, with Wald 95% CIs and Holm-adjusted p-values. With tens
# of participants per case these intervals are somewhat too narrow (R's lmerTest would use
# Satterthwaite degrees of freedom); the `note` column records how the model converged.
#
# The covariance within a participant is the analysis plan's `mixed_structure` (`analysis_plan.toml`:
# `"intercept"` by default, `"slope"` a random slope of wave, `"unstructured"` an MMRM, `"compare"` the
# REML likelihood-ratio test of intercept vs slope); the sentence says which structure was used (chosen).
#
# **To adapt.** `crosscase.mixed_model(scores, outcome="trust", role=False)` leaves the role
# adjustment out; `formula=` takes any patsy formula on the score rows; set `mixed_structure` in
# the analysis plan (before the data are analysed) to change the covariance structure.

# %%
analysis_plan = sections.analysis_plan_for(processed_dir)  # the data folder's analysis_plan.toml, else the package's
mixed = report.planned(
    run, plan, "mixed_model",
    lambda: sections.mixed_model_section(
        scores, cases, scale="trust", before=plan.before, after=plan.after, structure=analysis_plan.mixed_structure, language=language
    ),
    language=language,
)
mixed.figure

# %%
# NBVAL_CHECK_OUTPUT
print(mixed.sentence)
sections.rounded(mixed.table)

# %% [markdown]
# ## 4. Do the cases differ in change? Kruskal-Wallis with Dunn's tests
#
# **What is computed.** A check of the mixed model without its assumptions: each participant's change
# score (t2 minus t0) per scale, compared across the cases by rank (Kruskal-Wallis, with
# epsilon-squared and a bootstrap CI), then every pair of cases (Dunn's test, Holm-adjusted, with the
# rank-biserial r: positive when the first case of the pair changed more). Only participants who
# answered both times count.
#
# **To adapt.** `scale="perceived_willingness"` puts another scale in the sentence; the table holds
# every scale.

# %%
ranks = report.planned(
    run, plan, "kruskal_dunn",
    lambda: sections.kruskal_dunn_section(scores, cases, scale="trust", before=plan.before, after=plan.after, seed=seed, language=language),
    language=language,
)
ranks.figure

# %%
# NBVAL_CHECK_OUTPUT
print(ranks.sentence)
sections.rounded(ranks.table)

# %% [markdown]
# ## 5. Help-seeking side by side
#
# **What is computed.** The interrupted time series of parenting questions to the youth team in every
# case (rate ratios of the level change, the slope change and the trend before), and one pooled
# model with case interactions: a joint Wald test of whether the level (and the slope) changes are
# the same in all cases, and for every pair of cases the ratio of their rate ratios (Holm). The
# forest plot shows the level change per case (coloured) and the ratio for each pair of cases
# (black diamonds); 1 means no change, or no difference between the two cases. The level and slope
# change per case show two p-values: `p_value` unadjusted, `p_adjusted` as the analysis plan adjusts
# it (Holm over the plan's primary family, here the trust change and the help-seeking level change
# of every case, the same family as in the joint display; the slope is exploratory, unadjusted).
# The sentence uses the adjusted one and says so.
#
# **To adapt.** `timeseries.its_case_differences(monthly, family="poisson")` fixes the count model.

# %%
help_seeking = report.planned(
    run, plan, "help_seeking",
    lambda: sections.help_seeking_cross_section(
        sections.monthly_for(tables), cases, plan=analysis_plan, integration_map=sections.integration_map_for(processed_dir),
        family_results=mixed.table, language=language,
    ),
    language=language,
)
help_seeking.figure

# %%
# NBVAL_CHECK_OUTPUT
print(help_seeking.sentence)
sections.rounded(help_seeking.table)

# %% [markdown]
# ## 6. Themes across the cases
#
# **What is computed.** For every code, the share of interviewed participants per case who mentioned
# it (heatmap), and whether that share differs between the cases (Fisher's exact or chi-square test
# with Cramér's V; Holm-adjusted over the codes). The prevalence table counts people, so it is
# published with counts below the run's `min_cell` (1 to 4 by default) suppressed (grey, hatched cells in the heatmap).
#
# **To adapt.** `quantitize.theme_crosstab(presence, participants, code=..., by="role")` compares
# roles instead of cases.

# %%
themes = report.planned(
    run, plan, "themes", lambda: sections.theme_heatmap_section(tables, cases, seed=seed, min_cell=run.min_cell, language=language), language=language
)
themes.figure

# %%
# NBVAL_CHECK_OUTPUT
print(themes.sentence)
sections.rounded(themes.table)

# %% [markdown]
# ## 7. Expectations per case
#
# **What is computed.** The role x primary expectation crosstab of every case side by side (the test
# of the case report, for all cases), with the expectation scales compared between roles. The
# figure shows the shares at t0; the counts of people are published with small cells suppressed.
#
# **To adapt.** `wave="t2"` shows the follow-up.

# %%
expectations = report.planned(
    run, plan, "expectations",
    lambda: sections.expectations_cross_section(sections.expectation_answers(tables), scores, cases, wave=plan.waves[0], seed=seed, language=language),
    language=language,
)
expectations.figure

# %%
# NBVAL_CHECK_OUTPUT
print(expectations.sentence)
sections.rounded(expectations.table)

# %% [markdown]
# ## 8. In words
#
# The sentences of the sections above, together: each is generated from the numbers in its table.

# %%
# NBVAL_CHECK_OUTPUT
for section in (trajectories, mixed, ranks, help_seeking, themes, expectations):
    print("-", section.sentence)

# %% [markdown]
# ## The report
#
# `run.write_report` turns what this notebook saved into the report for readers without code: the
# run folder's `html/<name>.html`, with a title page, a summary of the findings, the figures and the
# tables formatted for reading, and every table at full precision in an Excel workbook. Opened by hand
# (`run_dir = None`) it writes nothing.

# %%
report_file = run.write_report(tables, processed_dir=processed_dir, language=language)
