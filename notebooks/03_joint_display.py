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
# never reads `data/raw/`), for the cases in `cases`: the survey tables and the activity log, and for
# the qualitative strand `coded_segments` and `codebook`. The evaluator's `integration_map.toml` and
# `integration_overrides.csv`, when the raw data folder has them, reach this notebook the same way:
# `prepare` checks them and carries them into `processed_dir`.
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
alpha = 0.05  # significance level of the fit rule for results that have no confidence interval
seed = 20170616  # seed for everything random (bootstrap confidence intervals)
language = "en"  # language of generated sentences and captions: "en" or "nl"

# %% [markdown]
# ## Set-up
#
# The same helpers as in the other reports. The banner marks synthetic data.

# %%
# NBVAL_CHECK_OUTPUT
from ponzoni_eval import report
from ponzoni_eval.data import load_processed
from ponzoni_eval.report import quality, sections

run = report.open_run(run_dir, "03_joint_display")
tables = load_processed(processed_dir)  # checks each file against the manifest written by prepare
scores = sections.scores_for(tables)  # scale scores of every participant, computed once
report.synthetic_banner(processed_dir, language=language)

# %% [markdown]
# ## 1. Who the two strands rest on
#
# The survey participants per case and role. Beside them, in section 3, the number of interviewed
# participants per case (`n_at_risk` in the prevalence), so a reader sees whether both strands speak
# for the same people.

# %%
# NBVAL_CHECK_OUTPUT
checks = quality.data_quality(tables, cases)
run.save_table(checks["sample"], "survey_sample", caption="Survey participants per case and role.")

# %% [markdown]
# ## 2. The inputs of the integration
#
# **What is computed.** Every result the joint display can use, for all cases at once: the change in
# trust per case and role (paired tests) and from the mixed model, the change of the perception gap,
# the role x expectation crosstab, and help-seeking per case and its pooled case differences. They
# are stacked into one table in the standard result shape, and p-values are Holm-adjusted within
# families (analysis x test x effect). Beside them: how many of the participants interviewed at
# follow-up (t2) per case mentioned each code (small counts suppressed), the coded segments of those
# interviews as the source of quotes, and the participants' names, used only to redact those quotes
# and never shown. The constructs are about change by follow-up: at t0 the collaboration had not
# begun, and we-they talk from then would outweigh what people reported at t2 if both were pooled.
#
# **To adapt.** `sections.joint_display_inputs` lists the analyses; a new analysis enters the display
# when its rows are stacked here and the integration map selects them. `interview_wave=None` pools the
# interviews of every wave.

# %%
inputs = sections.joint_display_inputs(tables, scores, sections.monthly_for(tables), cases, interview_wave="t2", seed=seed, min_cell=run.min_cell)
integration_map = sections.integration_map_for(processed_dir)  # the evaluator's copy, when prepare carried one
overrides = sections.overrides_for(tables, inputs.cases)  # the evaluator's overrides, or None
print(sections.integration_summary(integration_map, overrides, language=language))
inputs

# %%
# NBVAL_CHECK_OUTPUT
sections.rounded(run.save_table(inputs.results, "results", precision="fitted", caption="Every result used for the integration, in the standard result shape, p-values Holm-adjusted within families."))

# %% [markdown]
# ## 3. Joint display
#
# **What is computed.** One row per construct (trust, perception gap, expectation mismatch, safe space,
# help-seeking) and case: the quantitative result the integration map selects and whether it supports
# the construct (judged by its 95% CI), the prevalence of the linked codes and whether the interviews
# support it, up to two exemplar quotes (names, e-mail addresses and phone numbers redacted with
# `privacy.redact`), the fit of the two strands (agreement, partial agreement, silence, dissonance) and
# a meta-inference sentence. Where the evaluator overrode a fit label or wrote the meta-inference,
# `overridden` is true and `computed_fit_label` keeps the rule's label.
#
# **To adapt.** Copy `ponzoni_eval/resources/integration_map.toml` into your raw data folder as
# `integration_map.toml` to change which results and codes speak to a construct; record a different
# judgement in `integration_overrides.csv` there (construct, case_id, fit_label, meta_inference,
# evaluator, date, reason). Both are read by `prepare` and never written.

# %%
joint = run.save_section(sections.joint_display_section(inputs, integration_map=integration_map, overrides=overrides, alpha=alpha, language=language))

# %%
# NBVAL_CHECK_OUTPUT
print(joint.sentence)
joint.table[["construct", "case_id", "quant_evidence", "qual_evidence", "computed_fit_label", "fit_label", "overridden"]]

# %% [markdown]
# ## 4. Meta-inferences
#
# What the two strands say together, per construct and case, as the rule (or the evaluator) worded it.

# %%
# NBVAL_CHECK_OUTPUT
for row in joint.table.itertuples():
    print(f"- {row.meta_inference}")

# %% [markdown]
# ## 5. The displays as documents
#
# The joint display, the case-ordered meta-matrix and the statistics-by-themes display as a web page
# (cells coloured by fit, with a legend), as Markdown and as an Excel workbook, in the run folder's
# `documents/` (linked from `index.html`). The meta-matrix is shown here.

# %%
documents = sections.joint_display_documents(joint, language=language)
for name, formats in documents.items():
    for file_format, content in formats.items():
        run.save_document(content, name, format=file_format, caption=f"{name.replace('_', ' ').capitalize()} as {file_format.upper()}.")
joint.tables["meta_matrix"]

# %% [markdown]
# ## 6. Sensitivity: the fit judged on the point estimate
#
# **What is computed.** The same display with the quantitative strand judged descriptively: a result
# counts as a meaningful effect when its point estimate passes the map's smallest meaningful effect,
# whatever its confidence interval. With tens of participants per case a 95% CI is often too wide to
# rule anything out, so the CI-based labels above say "partial agreement" or "silence" where the
# estimates alone already agree or disagree with the interviews. The table lists the cells whose label
# changes; the labels above (CI-based) remain the report's claims.

# %%
# NBVAL_CHECK_OUTPUT
descriptive = sections.joint_display_section(inputs, integration_map=integration_map, overrides=overrides, alpha=alpha, quant_basis="estimate", language=language)
changed = sections.fit_changes(joint.table, descriptive.table)
print(descriptive.sentence)
sections.rounded(run.save_table(changed, "fit_by_estimate", precision="fitted", caption="Construct x case cells whose fit label changes when the quantitative strand is judged on the point estimate."))

# %% [markdown]
# ## The report
#
# `run.write_report` turns what this notebook saved into the report for readers without code: the
# run folder's `html/<name>.html`, with a title page, a summary of the findings, the figures and the
# tables formatted for reading, and every table at full precision in an Excel workbook. Opened by hand
# (`run_dir = None`) it writes nothing.

# %%
report_file = run.write_report(tables, processed_dir=processed_dir, language=language)
