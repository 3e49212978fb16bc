"""The ``vipquality`` command: a thin layer over the library.

Every command validates the workspace configuration before reading data. Errors the library
raises on purpose (:class:`~vipquality.errors.VipqualityError`) are printed as one clear message
and exit with code 2; anything else is a bug and exits with code 1 and its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vipquality._version import __version__
from vipquality.errors import VipqualityError
from vipquality.metrics.sufficient.engines import ENGINES  # names only: no engine is imported
from vipquality.paths import SAMPLE_WORKSPACE

__all__ = ["main"]

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

_workspace_option = click.option(
    "--workspace", "-w", type=click.Path(file_okay=False, path_type=Path),
    default=SAMPLE_WORKSPACE, show_default="the bundled sample (surveys/)",
    help="Workspace folder holding workspace.yaml.",
)


def _quarters(ctx, param, value):
    """``--quarter`` values checked as quarters (``2026Q3``) before anything runs."""
    from vipquality.config import Quarter

    values = value if isinstance(value, tuple) else (() if value is None else (value,))
    for v in values:
        try:
            Quarter.parse(v)
        except ValueError as err:
            raise click.BadParameter(str(err)) from None
    return value


def _warn_odd_folders(ws) -> None:
    """Name the folders that look like a quarter but are not one (they are not imported)."""
    from vipquality.data.readers import visible

    for name in ws.odd_quarter_folders():
        click.secho(f"warning: {visible(str(ws.root / name))} is not imported: a quarter "
                    "folder is named YYYYQ1 to YYYYQ4 (e.g. 2026Q3)", fg="yellow", err=True)


class _Group(click.Group):
    """Turns VipqualityError, and a file system that refuses a read or a write (disk full,
    read-only or missing folder, no permission), into a one-line message and exit code 2."""

    def invoke(self, ctx):  # noqa: D401 - click hook
        try:
            return super().invoke(ctx)
        except VipqualityError as err:
            click.secho(f"error: {err}", fg="red", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except OSError as err:  # the machine, not the data: no traceback for the cron log
            where = f"{err.filename}: " if err.filename else ""
            click.secho(f"error: {where}{err.strerror or err}", fg="red", err=True)
            sys.exit(EXIT_BAD_INPUT)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="vipquality")
def main() -> None:
    """Service quality for VIP clients: ingest, metrics and quarterly reports."""


@main.command()
@_workspace_option
@click.option("--seed", type=int, default=None, help="Random seed (default: the bundled sample's).")
@click.option("--responses", type=int, default=None, help="Survey responses per quarter.")
def sample(workspace: Path, seed: int | None, responses: int | None) -> None:
    """Write the seeded sample data (quarter folders, staff roster) into WORKSPACE."""
    from vipquality.data.sample import generate_sample

    kwargs = {k: v for k, v in {"seed": seed, "responses_per_quarter": responses}.items()
              if v is not None}
    written = generate_sample(workspace, **kwargs)
    click.echo(f"sample written to {workspace}: {written}")


@main.command()
@_workspace_option
@click.option("--quarter", "-q", multiple=True, callback=_quarters,
              help="Quarter(s) to import, e.g. 2026Q3.")
@click.option("--all", "all_quarters", is_flag=True, help="Import every quarter folder.")
@click.option("--dry-run", is_flag=True, help="Validate and reconcile, write nothing.")
@click.option("--format", "survey_format", default=None,
              type=click.Choice(["qualtrics", "qualtrics-2016", "qualtrics-legacy", "surveymonkey",
                                 "limesurvey", "limesurvey-r", "google-forms", "microsoft-forms",
                                 "canonical"]),
              help="Survey tool that exported the survey files (default: detected from each "
                   "file's content).")
@click.option("--keep-test-responses", is_flag=True,
              help="Keep Qualtrics test/preview responses (Status 1/2), left out by default.")
def ingest(workspace: Path, quarter: tuple[str, ...], all_quarters: bool, dry_run: bool,
           survey_format: str | None, keep_test_responses: bool) -> None:
    """Validate a quarter's raw files and write them to the workspace store.

    Survey files may be exports of Qualtrics, SurveyMonkey, LimeSurvey, Google Forms or
    Microsoft Forms: they are recognised and mapped onto the instrument."""
    from vipquality.config import load_workspace
    from vipquality.data.ingest import ingest_quarter

    ws = load_workspace(workspace)
    quarters = ws.quarters() if all_quarters or not quarter else list(quarter)
    if all_quarters or not quarter:
        _warn_odd_folders(ws)
    rejected = 0
    for q in quarters:
        result = ingest_quarter(ws, q, dry_run=dry_run, format=survey_format,
                                keep_test_responses=keep_test_responses)
        click.echo(result.summary())
        rejected += result.total_rejected
    if rejected:
        click.echo(f"{rejected} row(s) rejected: see {ws.store_path / 'rejects'}", err=True)


@main.command()
@_workspace_option
@click.option("--by", default="quarter,segment", show_default=True,
              help="Grouping columns, comma-separated (quarter, segment, branch, manager_id).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the tidy table as CSV here (default: print).")
@click.option("--engine", type=click.Choice(ENGINES), default="duckdb",
              show_default=True,
              help="Engine of the aggregation (all give the same table): spark runs the same "
                   "SQL on $SPARK_MASTER (a cluster URL; local[*] when unset); needs pyspark "
                   "and Java.")
@click.option("--unweighted", is_flag=True,
              help="Every answer counts once, even when workspace.yaml weighting is on.")
def metrics(workspace: Path, by: str, out: Path | None, engine: str, unweighted: bool) -> None:
    """Compute the tidy metrics table from the store."""
    from vipquality.config import load_workspace
    from vipquality.data.summary import summarise_workspace

    ws = load_workspace(workspace)
    table = summarise_workspace(ws, by=[c.strip() for c in by.split(",") if c.strip()],
                                engine=engine, weighted=False if unweighted else None)
    if out is None:
        click.echo(table.to_string(index=False))
    else:
        table.to_csv(out, index=False)
        click.echo(f"{len(table)} rows written to {out}")


@main.command()
@_workspace_option
@click.option("--quarter", "-q", default=None, callback=_quarters,
              help="Quarter to report (default: the latest).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Reports folder; pages go to OUT/<quarter>/.")
@click.option("--workers", type=int, default=None, help="Notebooks run at once (default: cores).")
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs).")
@click.option("--engine", type=click.Choice(ENGINES), default="duckdb",
              show_default=True,
              help="Engine of the shared aggregation's sufficient statistics (all give the same "
                   "tables; recorded in run.json): spark runs the same SQL on $SPARK_MASTER "
                   "(local[*] when unset); needs pyspark and Java.")
@click.option("--store", "store", default=None, metavar="URL",
              help="With --engine spark: the store's folder or URL (e.g. s3a://bucket/vq/store, "
                   "as the Spark session is configured) that Spark reads itself for the shared "
                   "aggregation, so the responses never pass through this machine.")
@click.option("--pdf", is_flag=True,
              help="Also print the board pack to OUT/<quarter>/board-pack.pdf with headless "
                   "Chromium (without it the run says so and publishes the HTML).")
def report(workspace: Path, quarter: str | None, out: Path, workers: int | None,
           no_progress: bool, engine: str, store: str | None, pdf: bool) -> None:
    """Run the quarterly report: every notebook in parallel, code-free HTML, published whole."""
    from vipquality.config import load_workspace
    from vipquality.report.build import build_report

    ws = load_workspace(workspace)
    _warn_odd_folders(ws)
    if store is not None and engine != "spark":
        raise click.UsageError("--store is read by Spark: give --engine spark with it")
    outcome = build_report(ws, quarter, out, workers=workers, progress=not no_progress,
                           engine=engine, pdf=pdf, store=store)
    click.echo(outcome.summary())
    if not outcome.ok:
        click.secho("the report has failures: see the lines marked FAILED above", fg="red",
                    err=True)
        sys.exit(EXIT_FAILED)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--survey", "survey_export", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The survey tool's export (Qualtrics, SurveyMonkey, LimeSurvey, Google or "
                   "Microsoft Forms, SPSS).")
@click.option("--crm", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A CRM extract: its columns are mapped, personal ones dropped.")
@click.option("--visits", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A mystery-shopping export: its header is mapped.")
@click.option("--quarter", "-q", default=None, callback=_quarters,
              help="Copy the survey export into this quarter folder (e.g. 2026Q3).")
def init(directory: Path, survey_export: Path, crm: Path | None, visits: Path | None,
         quarter: str | None) -> None:
    """Draft a workspace in DIRECTORY from your own exports: the columns' roles guessed with
    their confidence, commented YAML with every guess marked REVIEW (never overwrites)."""
    from vipquality.data.onboarding import draft_workspace

    draft = draft_workspace(directory, survey_export, crm=crm, visits=visits, quarter=quarter)
    click.echo(draft.summary())


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def check(directory: Path) -> None:
    """Validate the workspace in DIRECTORY without importing anything: what each column maps
    to, the quarter folders and files found, and every problem with its file, key and fix
    (exit code 2 when there is one)."""
    from vipquality.data.onboarding import check_workspace

    result = check_workspace(directory)
    click.echo(result.render())
    if not result.ok:
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":  # pragma: no cover
    main()
