"""The command line: `ponzoni-eval COMMAND`.

Each command is a thin wrapper over one package function. The subpackages load
their modules on first use (`ponzoni_eval._core.lazy`), so `--help` is instant. A problem with the user's data (`DataError`) is
printed as a plain message and exits with status 1, never as a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import warnings
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ponzoni_eval import data as data_layer, pipeline, qual
from ponzoni_eval._core.errors import DataError, ValidationFailed
from ponzoni_eval._core.files import atomic_write_text
from ponzoni_eval.config import DEFAULT_SEED

app = typer.Typer(
    name="ponzoni-eval",
    help=(
        "Mixed-methods evaluation of collaboration between parenting-support workers and migrant "
        "organisations, for your own cases (the synthetic example has three).\n\n"
        "Typical use: put your files in data/raw/<name>/ (see `ponzoni-eval templates`), then\n\n"
        "  ponzoni-eval validate DIR   check every table, list all problems at once, show the run plan\n\n"
        "  ponzoni-eval run DIR        validate, prepare and run every report the data allow\n\n"
        "Reviewers: `ponzoni-eval verify papermill_runs/latest` re-runs a run and compares results."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



def _out() -> Console:
    """Standard output, created per call so the terminal width (COLUMNS) is read when printing."""
    return Console()


def _err() -> Console:
    return Console(stderr=True)


class Language(str, Enum):
    """Languages the reports can speak (generated sentences, captions, banner)."""

    en = "en"
    nl = "nl"


EXAMPLE_DATA = Path("data/raw/example")
"""The synthetic example's folder: what `run` uses when no data folder is given."""


def _data_folder(argument: Optional[Path], option: Optional[Path], *, default: Optional[Path] = None) -> Path:
    """The data folder from `DIR` or `--data DIR` (one of them; the same when both are given)."""
    if argument is not None and option is not None and argument != option:
        raise typer.BadParameter(f"two data folders given ({argument} and --data {option}); give one", param_hint="DIR")
    folder = argument if argument is not None else option
    if folder is None:
        if default is None:
            raise typer.BadParameter("give the data folder: `DIR` or `--data DIR`", param_hint="DIR")
        return default
    return folder


def _warn_if_tracked(folder: Path) -> None:
    """Warn when a data folder lies inside a git repository and git does not ignore it (raw data could be committed)."""
    import shutil
    import subprocess

    from rich.markup import escape

    if not folder.is_dir() or shutil.which("git") is None:
        return
    try:
        inside = subprocess.run(["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
                                capture_output=True, text=True, timeout=20)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return
        ignored = subprocess.run(["git", "-C", str(folder), "check-ignore", "-q", "."], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return
    if ignored.returncode == 0:
        return
    metadata = folder / "dataset.toml"
    if metadata.is_file() and "synthetic = true" in metadata.read_text(encoding="utf-8", errors="replace"):
        return  # the synthetic example is committed on purpose
    _err().print(
        f"[yellow]Warning:[/yellow] {escape(str(folder))} is inside a git repository and not ignored by git, so its "
        "files could be committed by accident. Keep your own data in data/raw/<name>/ (ignored), or add the folder "
        "to .gitignore.", highlight=False, soft_wrap=True,
    )


def _version(value: bool) -> None:
    if value:
        from ponzoni_eval import __version__

        _out().print(f"ponzoni-eval {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Mixed-methods evaluation of youth-team / migrant-organisation collaboration."""


@app.command()
def validate(
    data_dir: Optional[Path] = typer.Argument(None, help="Folder with the raw tables (CSV, XLSX or SPSS .sav)."),
    data: Optional[Path] = typer.Option(None, "--data", help="The same folder, as an option."),
    before: Optional[str] = typer.Option(None, "--before", help="First wave of the pre/post comparisons (default: the first wave in the data)."),
    after: Optional[str] = typer.Option(None, "--after", help="Second wave of the pre/post comparisons (default: the last wave in the data)."),
    language: Language = typer.Option(Language.en, "--language", help="Language of the run plan."),
) -> None:
    """Check every raw table and the rules between them; list ALL problems at once; show the run plan.

    The run plan says which reports and sections the data allow, for which
    cases, and why the others will be skipped.

    Exit status 0 when the data are valid (warnings may be shown), 1 otherwise.
    """
    data_dir = _data_folder(data_dir, data)
    _warn_if_tracked(data_dir)
    report = data_layer.validate_dir(data_dir)
    data_layer.print_report(report, console=_out())
    if report.ok and report.data is not None:
        plan = data_layer.run_plan(data_layer.data_profile(report.data), before=before, after=after)
        data_layer.print_plan(plan, _out(), language=language.value)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def prepare(
    data_dir: Optional[Path] = typer.Argument(None, help="Folder with the raw tables."),
    data: Optional[Path] = typer.Option(None, "--data", help="The same folder, as an option."),
    out_dir: Path = typer.Option(Path("data/processed"), "--out", help="Where the typed parquet tables go."),
) -> None:
    """Validate, then write typed tidy tables (parquet) and a manifest. Raw files are never written to."""
    data_dir = _data_folder(data_dir, data)
    try:
        manifest = data_layer.prepare(data_dir, out_dir)
    except ValidationFailed as exc:
        data_layer.print_problems(exc.problems, console=_out())
        _err().print(f"[red]Not prepared[/red]: fix the errors above (`ponzoni-eval validate {data_dir}` lists them again).")
        raise typer.Exit(1)
    _out().print(f"[green]Prepared[/green] {len(manifest['tables'])} tables into {out_dir}")


class InterviewsFormat(str, Enum):
    """How `example` writes the interviews."""

    qdpx = "qdpx"
    csv = "csv"


@app.command()
def example(
    out_dir: Path = typer.Argument(Path("data/raw/example"), help="Folder to write the synthetic example data to."),
    sites: int = typer.Option(3, min=1, help="Number of sites; 3 gives the three study cases, more gives scaled data."),
    seed: int = typer.Option(DEFAULT_SEED, help="Random seed (the default reproduces the committed example)."),
    interviews: InterviewsFormat = typer.Option(
        "qdpx", "--interviews", help="qdpx: one REFI-QDA project; csv: documents, codebook and coded_segments as CSV."
    ),
) -> None:
    """Write the SYNTHETIC example data set (seeded, deterministic)."""
    data_layer.write_example(out_dir, n_sites=sites, seed=seed, interviews=interviews.value)
    _out().print(f"Wrote SYNTHETIC example data ({sites} sites, seed {seed}) to {out_dir}")


@app.command()
def templates(
    out_dir: Path = typer.Argument(..., help="Folder to write empty templates (headers only) and a short guide to."),
) -> None:
    """Write empty template files for your own data, with a short guide."""
    written = data_layer.write_templates(out_dir)
    _out().print(f"Wrote {len(written)} templates to {out_dir}")


@app.command("reshape-wide")
def reshape_wide(
    path: Path = typer.Argument(..., help="Wide survey file (.csv, .xlsx, .sav): one row per participant, a column per item and wave."),
    id_column: str = typer.Option(..., "--id", help="Column with the participant's pseudonym."),
    waves: str = typer.Option(..., "--waves", help="Wave labels in the column names: 't0,t1', or 'pre=t0,post=t1'."),
    pattern: str = typer.Option("{item}_{wave}", "--pattern", help="How item columns are named, e.g. '{scale}_{item}_{wave}'."),
    out_file: Path = typer.Option(Path("survey_responses.csv"), "--out", help="The long table to write (never overwritten)."),
    keep_empty: bool = typer.Option(False, "--keep-empty", help="A row for every empty cell too (default: empty cells give no row)."),
) -> None:
    """Turn a wide survey file into the long survey_responses.csv (participant x wave x item), checked against the schema."""
    from rich.markup import escape

    read = data_layer.read_table_collecting(path)  # a file that is not one of the raw tables is read as text
    if not read.ok:
        data_layer.print_problems(read.problems, console=_out())
        raise typer.Exit(1)
    long, unmatched = data_layer.reshape_wide(read.frame, id_column=id_column, waves=waves, pattern=pattern, keep_empty=keep_empty)
    if unmatched:
        _err().print(f"[yellow]Not placed[/yellow] (no item/wave in the name): {escape(', '.join(unmatched))}", highlight=False, soft_wrap=True)
    written = data_layer.write_long(long, out_file)
    checked = data_layer.read_table_collecting(written, table="survey_responses")
    data_layer.print_problems(checked.problems, console=_out())
    _out().print(f"Wrote {len(long):,} rows ({long['participant_id'].nunique()} participants, {long['item_id'].nunique()} items, "
                 f"waves {', '.join(sorted(long['wave'].unique()))}) to {escape(str(written))}. Put it in your data folder "
                 "and run `ponzoni-eval validate` on the folder.", highlight=False)
    raise typer.Exit(0 if checked.ok else 1)


@app.command()
def dictionary(
    out_file: Optional[Path] = typer.Argument(None, help="Markdown file to write; prints to the screen when omitted."),
) -> None:
    """Render the data dictionary (from the schemas) as Markdown."""
    text = data_layer.render_dictionary()
    if out_file is None:
        _out().print(text, markup=False, highlight=False)
    else:
        atomic_write_text(out_file, text)
        _out().print(f"Wrote {out_file}")


@contextlib.contextmanager
def _file_names_only(*paths: Path):
    """What a QDA command prints names files, never the folders they lie in (issue 16 item 6).

    A refusal (`DataError`) or a file that cannot be written (`OSError`) raised inside is raised
    again with the folders of the given paths (and of the working folder) taken out: an export's
    folder often holds a user's or a machine's name.
    """
    folders = sorted({str(folder) for path in paths for folder in (Path(path).parent, Path(path).absolute().parent)
                      if str(folder) not in ("", ".", "/")} | {str(Path.cwd())}, key=len, reverse=True)

    def scrub(text):
        if not isinstance(text, str):
            return text
        for folder in folders:
            for prefix in {folder, folder.replace("\\", "/")}:
                text = text.replace(prefix + "/", "").replace(prefix + "\\", "").replace(prefix, "")
        return text

    def name_of(file: str | None) -> str | None:
        if file is None:
            return None
        head, bracket, member = str(file).partition(" [")
        return Path(head).name + bracket + member

    try:
        yield
    except ValidationFailed:
        raise
    except DataError as exc:
        found = exc.found if not isinstance(exc.found, (list, tuple)) else [scrub(str(v)) for v in exc.found]
        raise DataError(scrub(exc.message), file=name_of(exc.file), row=exc.row, column=exc.column,
                        expected=scrub(exc.expected), found=scrub(found), rule=exc.rule) from None
    except OSError as exc:
        names = [None if f is None else Path(os.fsdecode(f)).name or str(f) for f in (exc.filename, exc.filename2)]
        raise OSError(exc.errno, exc.strerror or type(exc).__name__, names[0], None, names[1]) from None


@app.command("qda-import")
def qda_import(
    path: Path = typer.Argument(..., help="REFI-QDA project (.qdpx, .qde) or codebook (.qdc), or a MAXQDA / ATLAS.ti "
                                          "coded-segments export (.xlsx, .csv)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for coded_segments.csv, codebook.csv and "
                                                    "qda_import_report.md, e.g. data/raw/<dataset>/."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", help="TOML file: which document variables give "
                                                                    "participant_id, case_id and wave."),
    vendor: str = typer.Option("auto", help="For .xlsx/.csv exports: maxqda, atlasti or auto."),
    force: bool = typer.Option(False, "--force", help="Replace files that already exist in the folder."),
    keep_user_names: bool = typer.Option(False, "--keep-user-names", help="Keep the names of coders and memo "
                                         "authors; by default they become coder_1, coder_2, ..."),
    theme_folder: Optional[list[str]] = typer.Option(None, "--theme-folder", help="A non-codable folder of the code "
                                                     "tree that is the theme of its subtree (repeat for more)."),
) -> None:
    """Turn a QDA export into coded_segments.csv + codebook.csv (and a report of what was found and skipped).

    Coders and memo authors are pseudonymised (coder_1, coder_2, ...) unless --keep-user-names; folders on the
    exporting computer (basePath) and on this one are never printed or written.
    """
    from rich.markup import escape

    with _file_names_only(path, out_dir / "x", *([mapping] if mapping is not None else [])):
        written, report = qual.import_qda_to_folder(path, out_dir, mapping=mapping, vendor=vendor, overwrite=force,
                                                    keep_user_names=keep_user_names,
                                                    theme_folders=tuple(theme_folder or ()))
    counts = report.counts
    _out().print(f"Read {escape(report.format)}: {counts.get('codings', counts.get('segments', 0))} coded segments, "
              f"{counts.get('codes', 0)} codes, {counts.get('documents', 0)} documents.", highlight=False)
    if counts.get("skipped_codings"):
        _out().print(f"Not imported: {counts['skipped_codings']} coding(s) in {counts.get('skipped_selections', 0)} "
                     "selection(s) of the skipped sources below.", highlight=False)
    for item in report.skipped:
        _out().print(f"[yellow]skipped:[/yellow] {escape(item['kind'])} '{escape(item['item'])}': "
                     f"{escape(report.scrub(item['reason']))}", highlight=False)
    for warning in report.warnings:
        _out().print(f"[yellow]warning:[/yellow] {escape(report.scrub(warning))}", highlight=False)
    _out().print("Wrote " + escape(", ".join(written)) + " into the --out folder.", highlight=False)


@app.command("qda-map")
def qda_map(
    path: Path = typer.Argument(..., help="REFI-QDA project (.qdpx, .qde) or a MAXQDA / ATLAS.ti coded-segments "
                                          "export (.xlsx, .csv)."),
    out: Path = typer.Option(Path("qda_mapping.toml"), "--out", help="Where to write the proposed mapping."),
    force: bool = typer.Option(False, "--force", help="Replace the mapping file if it exists."),
) -> None:
    """Propose qda_mapping.toml: where participant, case and wave come from; show what each document becomes."""
    from rich.markup import escape
    from rich.table import Table

    if out.exists() and not force:
        raise DataError("refusing to overwrite an existing mapping; remove it or allow overwriting (--force)",
                        file=out.name, rule="overwrite")
    with _file_names_only(path, out):
        proposal = qual.propose_mapping(path)
    table = Table(title=f"What each document of {escape(path.name)} becomes")
    for column in ("document", "participant_id", "case_id", "wave"):
        table.add_column(column)
    for row in proposal.documents.itertuples(index=False):
        table.add_row(*(escape(str(v)) if v is not None and not (isinstance(v, float) and v != v) else "[red]-[/red]"
                        for v in (row.name, row.participant_id, row.case_id, row.wave)))
    console = _out()
    console.print(table)
    for target, origin in proposal.origins.items():
        console.print(f"{target}: {escape(origin)}", highlight=False)
    for target, n in proposal.missing().items():
        if n:
            console.print(f"[yellow]{n} document(s) still have no {target}[/yellow]", highlight=False)
    for guess in proposal.guesses:
        console.print(f"[yellow]check:[/yellow] {escape(guess)}", highlight=False)
    with _file_names_only(path, out):
        atomic_write_text(out, proposal.to_toml(path.name))
    console.print(f"Wrote {escape(out.name)}: put it beside {escape(path.name)} in your data folder, then run "
                  "`ponzoni-eval validate` on that folder.", highlight=False)


class ExecutorName(str, Enum):
    """Where `run` executes the notebooks."""

    local = "local"
    dask = "dask"


def _split_cases(values: Optional[list[str]]) -> Optional[list[str]]:
    """`--cases a --cases b` and `--cases a,b` both mean [a, b]."""
    if not values:
        return None
    return [case.strip() for value in values for case in value.split(",") if case.strip()]


@app.command()
def run(
    data_dir: Optional[Path] = typer.Argument(None, help="Folder with the raw tables (default: the synthetic example)."),
    data: Optional[Path] = typer.Option(None, "--data", help="The same folder, as an option."),
    before: Optional[str] = typer.Option(None, "--before", help="First wave of the pre/post comparisons (default: the first wave in the data)."),
    after: Optional[str] = typer.Option(None, "--after", help="Second wave of the pre/post comparisons (default: the last wave in the data)."),
    cases: Optional[list[str]] = typer.Option(None, "--cases", help="Case ids to report on (repeat or comma-separate); default all."),
    jobs: int = typer.Option(2, "--jobs", min=1, help="Notebooks executed at once."),
    out_dir: Path = typer.Option(Path("papermill_runs"), "--out", help="Folder for the run folders and the 'latest' pointer."),
    language: Language = typer.Option(Language.en, "--language", help="Language of generated sentences and captions."),
    processed: Path = typer.Option(Path("data/processed"), "--processed", help="Where the processed tables are written."),
    notebooks: Optional[Path] = typer.Option(None, "--notebooks", help="Folder with your own copies of the report notebooks."),
    executor: ExecutorName = typer.Option(
        ExecutorName.local, "--executor",
        help="local: kernels on this machine (--jobs at a time); dask: a Dask cluster (docs/scaling.md).",
    ),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="With --executor dask: scheduler address (tcp://host:8786); default a local cluster of --jobs workers.",
    ),
    min_cell: int = typer.Option(5, "--min-cell", min=1, help="Published counts of people below this are suppressed (shown as '<5')."),
    force_prepare: bool = typer.Option(
        False, "--force-prepare",
        help="Validate and prepare even when the processed tables were made from the same raw files by the same code.",
    ),
) -> None:
    """Validate, prepare and run every report the data allow into papermill_runs/<time>-<hash>/.

    Without a data folder the SYNTHETIC example (data/raw/example) is used, and
    said so. Every validation warning is shown, then the run plan: the reports
    and sections the data allow, and why the others are skipped. The data are
    prepared unless the processed folder already holds tables made from the
    very same raw files by the same code.

    Exit status 0 when every notebook ran, 1 when one failed (the others still
    run; the message names the notebook and the cell).
    """
    from rich.markup import escape

    if scheduler and executor is not ExecutorName.dask:
        raise typer.BadParameter("--scheduler is only used with --executor dask", param_hint="--scheduler")

    errors = Console(stderr=True)  # created here, so the terminal width is read when the run starts
    given = data_dir is not None or data is not None
    data = _data_folder(data_dir, data, default=EXAMPLE_DATA)
    if not given:
        errors.print(f"No data folder given: using the SYNTHETIC example in {escape(str(data))} "
                     "(`ponzoni-eval run DIR` runs your own data).", highlight=False)
    _warn_if_tracked(data)
    try:
        result = pipeline.run_pipeline(
            data, before=before, after=after, cases=_split_cases(cases), jobs=jobs, out=out_dir, language=language.value,
            processed_dir=processed, notebooks_dir=notebooks, min_cell=min_cell, console=errors, executor=executor.value,
            scheduler=scheduler, force_prepare=force_prepare,
        )
    except ValidationFailed as exc:  # every problem at once, as `validate` shows them

        data_layer.print_problems(exc.problems, console=Console())
        errors.print(f"[red]Not run[/red]: fix the errors above (`ponzoni-eval validate {escape(str(data))}` lists them again).")
        raise typer.Exit(1)
    index = result.run_dir / "index.html"
    if result.ok:
        Console().print(f"[green]Done.[/green] Open {escape(str(index))}", highlight=False)
        raise typer.Exit(0)
    for line in result.failure_messages():
        errors.print(f"[bold red]Failed:[/bold red] {escape(line)}", highlight=False, soft_wrap=True)
    errors.print(f"The other reports are in {escape(str(index))}", highlight=False)
    raise typer.Exit(1)


@app.command()
def verify(
    run_dir: Path = typer.Argument(..., help="A run folder, papermill_runs/latest, or a reference run (tables + manifest)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Where the raw data are now (default: as recorded)."),
    jobs: int = typer.Option(2, "--jobs", min=1, help="Notebooks executed at once for the re-run."),
    keep: bool = typer.Option(False, "--keep", help="Keep the re-run folder even when everything matches."),
    notebooks: Optional[Path] = typer.Option(None, "--notebooks", help="Folder with the report notebooks to re-run."),
    rtol: Optional[float] = typer.Option(
        None, "--rtol", min=0.0, help="Relative tolerance for values from iterative fits (default 1e-6)."
    ),
    atol: Optional[float] = typer.Option(
        None, "--atol", min=0.0, help="Absolute tolerance for values from iterative fits (default 1e-9)."
    ),
) -> None:
    """Re-run a recorded run on the same inputs and compare every result table.

    Says one of: identical (every value equal), reproduced within tolerance
    (values from iterative fits differ in their last digits, as they do
    across CPUs and BLAS libraries; the largest difference is named), or not
    reproduced (every difference with its table, row and both values; all
    of them in differences.csv of the kept re-run). Text and whole numbers
    must be equal; closed-form statistics equal to 1e-12 relative.

    Exit status 0 when identical or reproduced within tolerance, 1 otherwise.
    """
    result = pipeline.verify_run(run_dir, data_dir=data, jobs=jobs, keep=keep, notebooks_dir=notebooks, rtol=rtol, atol=atol,
                                 console=Console(stderr=True))
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def runs(
    out_dir: Path = typer.Option(Path("papermill_runs"), "--out", help="Folder that holds the run folders."),
    clean: bool = typer.Option(False, "--clean", help="Remove the interrupted and failed run folders listed."),
) -> None:
    """List run folders that were interrupted or failed (and remove them with --clean)."""
    from rich.markup import escape

    found = pipeline.unfinished_runs(out_dir)
    if not found:
        _out().print(f"No interrupted or failed runs in {escape(str(out_dir))}.", highlight=False)
        raise typer.Exit(0)
    for folder, status in found:
        _out().print(f"{escape(status):12} {escape(str(folder))}", highlight=False, soft_wrap=True)
    if clean:
        removed = pipeline.remove_runs([folder for folder, _ in found], out_dir)
        _out().print(f"Removed {len(removed)} run folder(s).", highlight=False)
    else:
        _out().print("`ponzoni-eval runs --clean` removes them.", highlight=False)


# --- the one top-level handler (issue 19) -----------------------------------------------------

LOG_DIR_VARIABLE = "PONZONI_EVAL_LOG_DIR"
"""Where the log of an internal error goes (default ``$XDG_STATE_HOME/ponzoni-eval/logs``, else the temp folder)."""

_OUTPUT_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space or choose another output folder",
    errno.EDQUOT: "your disk quota is used up: free some space or choose another output folder",
    errno.EROFS: "the disk is read-only: choose an output folder you can write to",
    errno.EACCES: "no permission: choose an output folder you can write to, or change the permissions",
    errno.EPERM: "no permission: choose an output folder you can write to, or change the permissions",
    errno.ENOTDIR: "a file stands where a folder is needed: choose another output path or move the file away",
    errno.EEXIST: "a file stands where a folder is needed: choose another output path or move the file away",
    errno.EISDIR: "a folder stands where a file is needed: give the name of a file",
    errno.ENAMETOOLONG: "the path is too long: give a shorter one",
}


def _os_error_message(exc: OSError) -> str:
    """One line naming the path, what went wrong and what to do (no traceback)."""
    path = exc.filename if exc.filename is not None else "(no path given)"
    if exc.filename2 is not None:
        path = f"{path} -> {exc.filename2}"
    reason = exc.strerror or type(exc).__name__
    advice = _OUTPUT_ADVICE.get(exc.errno, "check that the path exists and that you may read or write it")
    return f"{path}: {reason}; {advice}"


def _log_folder() -> Path:
    given = os.environ.get(LOG_DIR_VARIABLE)
    if given:
        return Path(given)
    state = os.environ.get("XDG_STATE_HOME")
    if state:
        return Path(state) / "ponzoni-eval" / "logs"
    return Path(tempfile.gettempdir()) / f"ponzoni-eval-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def _write_error_log(exc: BaseException, argv: list[str] | None) -> Path | None:
    """The traceback of an unexpected error in a log file only its owner may read (it may quote data)."""
    import datetime as dt
    import traceback

    text = (
        f"ponzoni-eval internal error at {dt.datetime.now(dt.timezone.utc).isoformat()}\n"
        f"command: {' '.join(sys.argv[:1] + list(argv if argv is not None else sys.argv[1:]))}\n"
        f"python: {sys.version.split()[0]}\n\n" + "".join(traceback.format_exception(exc))
    )
    for folder in (_log_folder(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, name = tempfile.mkstemp(dir=folder, prefix="error-", suffix=".log")  # mode 0600
            with os.fdopen(handle, "w", encoding="utf-8") as log:
                log.write(text)
            return Path(name)
        except OSError:
            continue
    return None


_DEFAULT_SHOWWARNING = warnings.showwarning


def _warnings_shown_normally() -> bool:
    implementation = getattr(warnings, "_showwarnmsg_impl", None)
    return warnings.showwarning is _DEFAULT_SHOWWARNING and getattr(implementation, "__module__", None) == "warnings"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning about the user's data as one plain line (not Python's "file:line: Category: ..." form)."""
    from rich.markup import escape

    _err().print(f"[yellow]Warning:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point, the one top-level handler: nobody sees a traceback.

    - a problem with the user's data or arguments (`DataError`, `ValidationFailed`): the
      located message, exit status 1;
    - a file that cannot be read or written (`OSError`: path is a file, read-only, disk full,
      no permission): one message naming the path and what to do, exit status 1 (the writers
      are atomic, so nothing half-written is left behind);
    - anything else: "internal error" with the path of a log file holding the details,
      exit status 2.
    """
    from rich.markup import escape

    try:
        with warnings.catch_warnings():
            if _warnings_shown_normally():  # not while warnings are recorded (a test, warnings.catch_warnings(record=True))
                warnings.showwarning = _show_warning
            app(args=argv)  # standalone: click prints usage errors itself (exit 2)
    except DataError as exc:
        _err().print(f"[bold red]Error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except ValidationFailed as exc:
        data_layer.print_problems(exc.problems, console=_out())
        _err().print("[bold red]Error:[/bold red] fix the problems listed above.", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        _err().print("[yellow]Interrupted.[/yellow]")
        sys.exit(130)
    except OSError as exc:
        _err().print(f"[bold red]Error:[/bold red] {escape(_os_error_message(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as exc:  # the promise for cases nobody foresaw: a message and a log, never a traceback
        log = _write_error_log(exc, argv)
        where = f"the details are in {log}" if log is not None else "no log could be written"
        _err().print(
            f"[bold red]Internal error[/bold red] ({escape(type(exc).__name__)}): this is a fault of ponzoni-eval, "
            f"not of your data; {escape(where)}. Please report it with that file (read it first: it may quote your data).",
            highlight=False, soft_wrap=True,
        )
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
