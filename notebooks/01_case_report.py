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
alpha = 0.05  # significance level; this report gives exact p-values and 95% CIs, so alpha is only recorded
seed = 20170616  # seed for everything random (bootstrap confidence intervals)
language = "en"  # language of generated sentences and captions: "en" or "nl"
before = None  # first wave of the pre/post comparisons; None: the first wave in the data
after = None  # second wave of the pre/post comparisons; None: the last wave in the data

# %% [markdown]
# ## Set-up
#
# `open_run` ties the output helpers to this run, notebook and case, so each table below is saved
# as `<case_id>-<name>`. The tables are read once and the scale scores computed once (the mean of a
# participant's answers to a scale's items, reverse-coded items turned round; `transforms.score_scales`);
# every section below is one function of `ponzoni_eval.report.sections`, so everything it computes is tested
# in `tests/`. `tables` also holds `redaction_terms`, the names by
# which participants may appear in interview text (used to redact quotes): never show or save it.
# A red banner appears when the data are synthetic: the numbers then illustrate the method and are
# not findings.
#
# `plan` is the run plan (`report.plan_for`, the plan `ponzoni-eval validate` prints): which sections
# the data allow for this case. A section the data do not allow (one wave, no interviews, no activity
# log, ...) is not computed; `report.planned` shows why instead.

# %%
# NBVAL_CHECK_OUTPUT
from ponzoni_eval import report
from ponzoni_eval.data import load_processed
from ponzoni_eval.report import quality, sections

run = report.open_run(run_dir, "01_case_report", case_id=case_id)
tables = load_processed(processed_dir)  # checks each file against the manifest written by prepare
report.use_display_names(tables)  # cases by their name (cases.name) in titles, sentences and figures; ids stay in the data
scores = sections.scores_for(tables)  # scale scores of every participant, computed once for all sections
plan = report.plan_for(tables, case_id, before=before, after=after)  # what the data allow for this case
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
run.save_table(checks["sample"], "sample", caption=f"Participants per role in case {plan.case_name(case_id)}.")

# %% [markdown]
# ### 1.2 Response per wave
#
# A participant responded in a wave when at least one answer in that wave is not missing.
# `share_responding` is a proportion (0 to 1); it is empty for a role without participants.

# %%
# NBVAL_CHECK_OUTPUT
run.save_table(checks["response"], "response", caption=f"Participants who responded, per role and wave, in case {plan.case_name(case_id)}.")

# %% [markdown]
# ### 1.3 Missing answers per scale
#
# Of the answer rows present, how many are empty, per role, wave and scale.

# %%
# NBVAL_CHECK_OUTPUT
run.save_table(checks["missingness"], "missingness", caption=f"Missing answers per role, wave and scale in case {plan.case_name(case_id)}.")

# %% [markdown]
# ## 2. Reliability of the scales
#
# **What is computed.** For every scale and wave, Cronbach's alpha (do the items of a scale measure
# the same thing?) with a 95% confidence interval (Feldt), and McDonald's omega from a one-factor
# model where there are at least three items. Only participants who answered every item of a scale
# count (listwise); the `note` column says how many were left out. Alpha below .70 (the dashed line)
# means the scale score is too noisy to compare waves or groups on.
#
# **To adapt.** `sections.reliability_section` calls `stats.reliability(..., by=("case_id", "wave"))`;
# group by role as well by calling `stats.reliability` yourself with `by=("case_id", "role", "wave")`.

# %%
reliability = report.planned(run, plan, "reliability", lambda: sections.reliability_section(tables, case_id, language=language), language=language)
reliability.figure

# %%
# NBVAL_CHECK_OUTPUT
print(reliability.sentence)
sections.rounded(reliability.table)

# %% [markdown]
# ## 3. Trajectories over the waves
#
# **What is computed.** The mean score of every scale per role and wave, before any test: t0 before
# the collaboration, t1 after the joint positive goal, t2 at follow-up. The figure shows trust, with
# 95% confidence intervals of each mean. Means of different waves can rest on different people
# (drop-out); the paired tests in the next section use only people who answered both times.
#
# **To adapt.** Pass `scale="perceived_willingness"` (or any scale in the table) to draw another one.

# %%
trajectories = report.planned(
    run, plan, "trajectories",
    lambda: sections.trajectories_section(scores, case_id, scale="trust", before=plan.before, after=plan.after, language=language),
    language=language,
)
trajectories.figure

# %%
# NBVAL_CHECK_OUTPUT
print(trajectories.sentence)
sections.rounded(trajectories.table)

# %% [markdown]
# ## 4. Change from before to follow-up (pre/post)
#
# **What is computed.** For every scale measured at both waves of the pair (`plan.before` and
# `plan.after`: the first and the last wave in the data unless the `before`/`after` parameters say
# otherwise; t0 and t2 in the example), per role: the paired t-test with Hedges'
# g_av and the Wilcoxon signed-rank test with the rank-biserial r, each with a 95% CI, on the people
# who answered both times (`n`). `p_adjusted` is Holm-adjusted over all scales and roles of this
# case; `min_detectable` is the smallest standardised change this n could detect with 80% power, so
# a non-significant result with a large `min_detectable` means "too few people to tell", not "no
# change". The forest plot shows g_av per scale and role; the sentence reads trust.
#
# **To adapt.** The parameters `before="t0", after="t1"` look at the change up to the joint goal instead.

# %%
pre_post = report.planned(
    run, plan, "pre_post",
    lambda: sections.pre_post_section(scores, case_id, scale="trust", before=plan.before, after=plan.after, language=language),
    language=language,
)
pre_post.figure

# %%
# NBVAL_CHECK_OUTPUT
print(pre_post.sentence)
sections.rounded(pre_post.table)

# %% [markdown]
# ## 5. Perception gap
#
# **What is computed.** Both sides may want to collaborate while each believes the other side does
# not. The gap is a participant's own willingness minus the willingness they perceive in the other
# side; it is tested per role and wave (is the gap larger than zero?) and its change from t0 to t2
# (does it close?), with the same tests and effect sizes as above. In the figure the filled point is
# own willingness, the open point the perceived willingness of the other side: the line between them
# is the gap.
#
# **To adapt.** `stats.perception_gap` takes any two scales (`own=`, `perceived=`) answered by the
# same people in the same wave.

# %%
gap = report.planned(
    run, plan, "perception_gap",
    lambda: sections.perception_gap_section(scores, case_id, before=plan.before, after=plan.after, language=language),
    language=language,
)
gap.figure

# %%
# NBVAL_CHECK_OUTPUT
print(gap.sentence)
sections.rounded(gap.table)

# %% [markdown]
# ## 6. Expectations of the collaboration
#
# **What is computed.** What each side primarily expects: strengthening the organisation, a bridge
# to migrant parents, or both. The crosstab of role x expectation is tested per wave (Fisher's exact
# test for 2 x 2 tables, otherwise chi-square with a Monte Carlo p when counts are small) with
# Cramér's V and its CI; the adjusted residuals show which cells drive a difference (beyond +-2). The
# two expectation scales (expect_strengthen, expect_bridge) are compared between the roles at t0
# (rank-biserial r: positive when migrant organisations score higher). The counts of people per cell
# are published with small counts suppressed (below the run's `min_cell`, 5 unless `--min-cell` says otherwise).
#
# **To adapt.** `wave="t2"` draws and describes the follow-up instead of the baseline.

# %%
expectations = report.planned(
    run, plan, "expectations",
    lambda: sections.expectations_section(sections.expectation_answers(tables), scores, case_id, wave=plan.waves[0], seed=seed, language=language),
    language=language,
)
expectations.figure

# %%
# NBVAL_CHECK_OUTPUT
print(expectations.sentence)
sections.rounded(expectations.table)

# %% [markdown]
# ## 7. Help-seeking over time
#
# **What is computed.** Parenting questions reaching the youth team per month, before and after the
# collaboration started (an interrupted time series: segmented Poisson or, when the counts vary more
# than Poisson allows, negative binomial regression). Three rate ratios: the jump at the start (level
# change), the change in the monthly trend (slope change) and the trend before. In the figure, the
# dashed line continues the trend from before the start: the gap between it and the solid line after
# month 0 is the estimated effect of the collaboration.
#
# **To adapt.** `timeseries.interrupted_time_series(monthly, event_type="referral_to_youth_team")`
# analyses another count of the activity log.

# %%
help_seeking = report.planned(
    run, plan, "help_seeking", lambda: sections.help_seeking_section(sections.monthly_for(tables), case_id, language=language), language=language
)
help_seeking.figure

# %%
# NBVAL_CHECK_OUTPUT
print(help_seeking.sentence)
sections.rounded(help_seeking.table)

# %% [markdown]
# ## 8. Themes from the interviews
#
# **What is computed.** Quantitized codes: for every code, how many of the participants interviewed
# in a role and wave mentioned it at least once (`n_with_code` of `n_at_risk`). Where a document was
# coded twice, the main coder's coding counts. These tables count people, so they are published
# with counts below the run's `min_cell` (1 to 4 by default) and the percentages beside them suppressed; the figure and the sentence
# are made from the suppressed table.
#
# **To adapt.** `quantitize.code_presence(..., level="theme", codebook=...)` counts themes instead of
# codes; `coder="any"` counts a code that either coder applied.

# %%
themes = report.planned(
    run, plan, "themes", lambda: sections.theme_prevalence_section(tables, case_id, min_cell=run.min_cell, language=language), language=language
)
themes.figure

# %%
# NBVAL_CHECK_OUTPUT
print(themes.sentence)
sections.rounded(themes.table)

# %% [markdown]
# ## 9. Intercoder agreement
#
# **What is computed.** On the interviews of this case that two coders coded independently: for
# every code, did both coders apply it to a document or not? Percent agreement, Cohen's kappa,
# Krippendorff's alpha and Brennan-Prediger's kappa, each with a 95% bootstrap CI that resamples
# documents (seeded with `seed`). The dashed lines at .667 and .800 are Krippendorff's thresholds
# for tentative and firm conclusions. Few double-coded documents give wide intervals.
#
# **To adapt.** `agreement.agreement(segments, unit="segment")` compares the coded passages instead
# of whole documents.

# %%
agreement = report.planned(
    run, plan, "agreement", lambda: sections.agreement_section(tables, case_id, seed=seed, language=language), language=language
)
agreement.figure

# %%
# NBVAL_CHECK_OUTPUT
print(agreement.sentence)
sections.rounded(agreement.table)

# %% [markdown]
# ## 10. In words
#
# The sentences of the sections above, together: each is generated from the numbers in its table.

# %%
# NBVAL_CHECK_OUTPUT
for section in (reliability, trajectories, pre_post, gap, expectations, help_seeking, themes, agreement):
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
