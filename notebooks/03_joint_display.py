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
# the qualitative strand `coded_segments` and `codebook`. The evaluator's `analysis_plan.toml`,
# `integration_map.toml` and `integration_overrides.csv`, when the raw data folder has them, reach this
# notebook the same way: `prepare` checks them and carries them into `processed_dir`.
#
# **Outputs.** The joint display, the meta-inferences and the integration procedure with the GRAMMS
# checklist, also in the run folder (`run_dir`) when one is given.
#
# *For students.* `ponzoni-eval run` executes this notebook once per run with the parameters of the next
# cell replaced. Opened by hand it uses every case and writes nothing.

# %% tags=["parameters"]
case_id = "all"  # the joint display covers every case in `cases`
cases = None  # the cases to include; None means every case in the data
processed_dir = "../data/processed"  # where `ponzoni-eval prepare` wrote the tables
run_dir = None  # the run folder to write tables and figures to; None writes nothing
alpha = 0.05  # the run's significance level; the joint display uses the analysis plan's own (pre-specified)
seed = 20170616  # seed for everything random (bootstrap confidence intervals)
language = "en"  # language of generated sentences and captions: "en" or "nl"
before = None  # first wave of the change results; None: the first wave in the data
after = None  # second wave of the change results and the interviews' wave; None: the last wave in the data

# %% [markdown]
# ## Set-up
#
# The same helpers as in the other reports. The banner marks synthetic data. `plan` is the run plan
# (`report.plan_for`): `ponzoni-eval run` runs this report only when the data have coded interviews and
# two waves; the change results compare `plan.before` with `plan.after` (first and last wave).

# %%
# NBVAL_CHECK_OUTPUT
from ponzoni_eval import report
from ponzoni_eval.data import load_processed
from ponzoni_eval.report import quality, sections

run = report.open_run(run_dir, "03_joint_display")
tables = load_processed(processed_dir)  # checks each file against the manifest written by prepare
report.use_display_names(tables)  # cases by their name (cases.name) in titles, sentences and figures; ids stay in the data
scores = sections.scores_for(tables)  # scale scores of every participant, computed once
plan = report.plan_for(tables, cases, before=before, after=after)  # what the data allow
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
# are stacked into one table in the standard result shape, each analysis with its own p-value
# adjustment; the joint display adjusts the results it uses as the analysis plan says (Holm within
# the primary family, secondary results exploratory). Beside them: who of the participants
# interviewed at follow-up (t2) mentioned each code (the rule counts them unsuppressed; only what is
# shown is suppressed), the coded segments of those interviews as the source of quotes, and the
# participants' names, used only to redact those quotes and never shown. The constructs are about
# change by follow-up: at t0 the collaboration had not begun, and we-they talk from then would
# outweigh what people reported at t2 if both were pooled.
#
# The **analysis plan** (`analysis_plan.toml` in the data folder) says what was decided before the
# data were analysed: primary and secondary outcomes, directions, smallest meaningful effects, test
# families, and the roles and wave each construct's results speak for.
#
# **To adapt.** `sections.joint_display_inputs` lists the analyses; a new analysis enters the display
# when its rows are stacked here, the integration map selects them and the plan names them.
# `interview_wave=None` pools the interviews of every wave.

# %%
analysis_plan = sections.analysis_plan_for(processed_dir)  # the data folder's analysis_plan.toml, else the package's (not pre-specified)
inputs = sections.joint_display_inputs(
    tables, scores, sections.monthly_for(tables), cases, before=plan.before, after=plan.after, interview_wave=plan.after, seed=seed, min_cell=run.min_cell,
    structure=analysis_plan.mixed_structure,  # the mixed model's covariance structure, as the plan says
)
integration_map = sections.integration_map_for(processed_dir)  # the evaluator's copy, when prepare carried one
plan = analysis_plan
overrides = sections.overrides_for(tables, inputs.cases)  # the evaluator's overrides, or None
print(sections.integration_summary(integration_map, overrides, language=language))
inputs

# %%
# NBVAL_CHECK_OUTPUT
sections.rounded(run.save_table(inputs.results, "results", precision="fitted", caption="Every result the integration can use, in the standard result shape, each analysis with its own p-value adjustment."))

# %% [markdown]
# ## 3. Joint display
#
# **What is computed.** One row per construct (trust, perception gap, expectation mismatch, safe space,
# help-seeking) and case: the quantitative result that decided (estimate [CI], p as the plan adjusts
# it, n; model notes in the footnotes) and whether it supports the construct, the prevalence of the
# linked codes among the interviewees of the roles and wave that result speaks for, with Wilson 95%
# intervals judged against the plan's threshold (for expectation mismatch: which role mentions which
# expectation, Fisher's exact test), up to two exemplar quotes (names, e-mail addresses and phone
# numbers redacted with `privacy.redact`), the fit of the two strands (agreement, partial agreement,
# dissonance, silence, inconclusive; O'Cathain et al. 2010, Fetters et al. 2013) and a meta-inference
# sentence citing the results that decided it. Where the evaluator overrode a fit label or wrote the
# meta-inference, `overridden` is true and `computed_fit_label` keeps the rule's label.
#
# **To adapt.** Copy `ponzoni_eval/resources/integration_map.toml` into your raw data folder as
# `integration_map.toml` to change which results and codes speak to a construct; record a different
# judgement in `integration_overrides.csv` there (construct, case_id, fit_label, meta_inference,
# evaluator, date, reason). Both are read by `prepare` and never written.

# %%
joint = run.save_section(sections.joint_display_section(inputs, integration_map=integration_map, plan=plan, overrides=overrides, language=language))

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
# **What is computed.** A sensitivity view, not a claim: the same display with the quantitative strand
# judged descriptively, a result counting as a meaningful effect when its point estimate passes the
# analysis plan's smallest meaningful effect (a result without one is not conclusive), whatever its
# confidence interval. The table lists the cells whose label changes; the labels above (CI-based)
# remain the report's claims.

# %%
# NBVAL_CHECK_OUTPUT
descriptive = sections.joint_display_section(inputs, integration_map=integration_map, plan=plan, overrides=overrides, quant_basis="estimate", language=language)
changed = sections.fit_changes(joint.table, descriptive.table)
print(descriptive.sentence)
sections.rounded(run.save_table(changed, "fit_by_estimate", precision="fitted", caption="Construct x case cells whose fit label changes when the quantitative strand is judged on the point estimate."))

# %% [markdown]
# ## 7. Integration procedure and GRAMMS checklist
#
# How the integration was done (the plan, both strands' standards of evidence, multiplicity,
# disclosure control, the labels with their sources and the decision table) and the six items of
# the GRAMMS checklist (O'Cathain, Murphy & Nicholl 2008), filled from the plan, the data and the
# rule of this run, for the methods section of a paper. Also in the run folder's `documents/`.

# %%
# NBVAL_CHECK_OUTPUT
from IPython.display import Markdown

procedure = sections.integration_procedure_document(joint, plan, language=language)
run.save_document(procedure, "integration_procedure", format="md", caption="Integration procedure and GRAMMS checklist.")
Markdown(procedure)

# %% [markdown]
# ## The report
#
# `run.write_report` turns what this notebook saved into the report for readers without code: the
# run folder's `html/<name>.html`, with a title page, a summary of the findings, the figures and the
# tables formatted for reading, and every table at full precision in an Excel workbook. Opened by hand
# (`run_dir = None`) it writes nothing.

# %%
report_file = run.write_report(tables, processed_dir=processed_dir, language=language)
