"""The ``netoutcomes`` command line: one subcommand per DVC stage plus explain, promote, serve."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from pipeline.catalog import catalog_for, dictionary_path_for, quarantine_dir_for, truth_dir_for

app = typer.Typer(
    name="netoutcomes",
    help="Outcome prediction for neuroendocrine tumours: response, PFS and OS per candidate "
    "therapy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
CAT = catalog_for(".")
ParamsOpt = Annotated[Path, typer.Option("--params", help="The params.yaml to read.")]
FeaturesOpt = Annotated[Path, typer.Option("--features", help="Feature table.")]


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
        force=True,
    )
    for noisy in ("matplotlib", "PIL", "numexpr", "alembic", "urllib3", "git", "shap", "mlflow",
                  "optuna", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")



@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False):
    _configure_logging(verbose)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn input errors into one clear line and exit code 2 (no traceback for bad input)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError

        from pipeline.errors import InputError

        try:
            return func(*args, **kwargs)
        except InputError as err:
            console.print(f"[bold red]error:[/] {err}")
            raise typer.Exit(2) from None
        except ValidationError as err:
            console.print(f"[bold red]error in params:[/] {err}")
            raise typer.Exit(2) from None

    return wrapper


@app.command()
@friendly
def simulate(
    n_patients: Annotated[
        int | None,
        typer.Option("--n-patients", help="Number of patients [params: simulate.n_patients]."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed; same seed = same bytes [params: seed].")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the raw CSV export.")] = CAT.raw_dir,
    mode: Annotated[
        str | None, typer.Option(help="rct (randomised) or real_world (propensity) [params].")
    ] = None,
    messy: Annotated[
        bool | None,
        typer.Option("--messy/--clean", help="Add the faults of real exports [params]."),
    ] = None,
    population: Annotated[
        str | None,
        typer.Option(help="Trial-like preset: netter1, radiant3, sunitinib_pnet, compete "
                     "[params]."),
    ] = None,
    truth_out: Annotated[
        Path | None, typer.Option(help="Folder for the ground truth (default: <out>/../truth).")
    ] = None,
    select: Annotated[
        str | None,
        typer.Option(
            "--select",
            help="Population criteria 'key=value; ...' instead of a preset: site=pancreas,lung; "
            "grade=G1,G2; ki67=10-55; functional=no; line=first|later; "
            "disease=progressive|stable; sstr=positive; prior=ssa.",
        ),
    ] = None,
    world: Annotated[
        str | None, typer.Option(help="Simulator world: published or equipoise [params].")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Write a synthetic NET cohort (raw multi-table export) and its ground truth.

    With ``source: export`` in params.yaml the centre's export (``export_dir``) is copied into
    the raw folder instead; nothing is simulated.
    """
    from pipeline.params import load_params
    from pipeline.stages import simulate as stage

    p = load_params(params)
    if p.source == "export":  # a centre's export: copied in, never simulated over
        from pipeline.stages import raw

        truth = truth_out or truth_dir_for(out)
        raw.import_export(Path(p.export_dir), out, truth)
        console.print(f"raw export: [bold]{out}[/] (copied from {p.export_dir}; no truth)")
        return
    mode = mode or p.simulate.mode
    if mode not in ("rct", "real_world"):
        raise typer.BadParameter("mode must be 'rct' or 'real_world'", param_hint="--mode")
    truth = truth_out or truth_dir_for(out)
    stage.run(
        out,
        truth,
        n_patients=n_patients if n_patients is not None else p.simulate.n_patients,
        seed=seed if seed is not None else p.seed,
        mode=mode,
        population=population if population is not None else p.simulate.population,
        messy=messy if messy is not None else p.simulate.messy,
        selection=select,
        world=world or p.simulate.world,
    )
    console.print(f"raw export: [bold]{out}[/]  truth (kept apart): [bold]{truth}[/]")


@app.command("simulate-trials")
@friendly
def simulate_trials(
    n_patients: Annotated[
        int, typer.Option("--n-patients", help="Patients per trial (randomised 1:1).")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    trials: Annotated[
        str | None,
        typer.Option(help="Comma-separated trials (default: all), e.g. netter1,clarinet."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for trials.json and trials.md.")] = (
        CAT.reports_dir / "simulate_trials"
    ),
    world: Annotated[str, typer.Option(help="Simulator world: published or equipoise.")] = (
        "published"
    ),
) -> None:
    """Replicate the published NET trials in the simulated world: simulated vs published."""
    from pipeline.stages import simulate as stage

    names = [t.strip() for t in trials.split(",") if t.strip()] if trials else None
    rows = stage.run_trials(out, n_patients=n_patients, seed=seed, trials=names, world=world)
    typer.echo((out / "trials.md").read_text(encoding="utf-8"))
    console.print(f"{sum(r['agrees'] for r in rows)} of {len(rows)} endpoints agree; "
                  f"table: [bold]{out / 'trials.md'}[/], [bold]{out / 'trials.json'}[/]")


@app.command()
@friendly
def validate(
    raw: Annotated[Path, typer.Option(help="Folder with the raw CSV export.")] = CAT.raw_dir,
    out: Annotated[
        Path, typer.Option(help="Folder for validated Parquet tables.")
    ] = CAT.validated_dir,
    demo_key: Annotated[bool, typer.Option(
        "--demo-key", help="Use the public demo pseudonym key when no key is set: only for the "
        "simulator's own export (checked against its manifest.json).")] = False,
    export_date: Annotated[str | None, typer.Option(
        "--export-date", help="Day of the export (YYYY-MM-DD); later dates are quarantined "
        "[default: the simulator's manifest date, else today].")] = None,
) -> None:
    """Check the raw export against the data contract, clean it, quarantine bad rows, pseudonymise.

    The pseudonym key comes from NETOUTCOMES_PSEUDONYM_KEY or NETOUTCOMES_PSEUDONYM_KEY_FILE.
    """
    from pipeline.secrets import load_pseudonym_key
    from pipeline.stages import validate as stage

    key, demo = load_pseudonym_key(demo=demo_key)
    when = stage.resolve_export_date(raw, _parse_day(export_date, "--export-date"))
    stage.run(raw, out, quarantine_dir_for(out), out / "validation_report.json", key,
              demo_key=demo, export_date=when)


def _parse_day(text: str | None, option: str):
    """``YYYY-MM-DD`` text as a date (None stays None); bad text is a parameter error."""
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter("give the day as YYYY-MM-DD", param_hint=option) from None


@app.command()
@friendly
def features(
    validated: Annotated[
        Path, typer.Option(help="Folder of validated tables.")
    ] = CAT.validated_dir,
    out: Annotated[Path, typer.Option(help="Feature table (Parquet).")] = CAT.features_file,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Engineer leakage-safe baseline features (one row per patient and index line)."""
    from pipeline.params import load_params
    from pipeline.stages import features as stage

    p = load_params(params)
    stage.run(validated, out, p.features)
    console.print(f"features: [bold]{out}[/]  dictionary: [bold]{dictionary_path_for(out)}[/]")


@app.command()
@friendly
def train(
    features_file: FeaturesOpt = CAT.features_file,
    out: Annotated[Path, typer.Option(help="Folder for trained models.")] = CAT.models_dir,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Choose and fit the response, PFS and OS models by nested cross-validation (MLflow)."""
    from pipeline.params import check_model_arguments, load_params
    from pipeline.stages import train as stage

    p = load_params(params)
    check_model_arguments(p.train, stage.FACTORIES, params)
    stage.run(features_file, out, p.train, p.seed)
    console.print(f"models: [bold]{out}[/]  tracking: [bold]{_tracking_uri()}[/]")


@app.command()
@friendly
def evaluate(
    features_file: FeaturesOpt = CAT.features_file,
    models: Annotated[Path, typer.Option(help="Folder of trained models.")] = CAT.models_dir,
    truth: Annotated[
        Path | None, typer.Option(help="Simulator truth folder for the oracle ratio (if present).")
    ] = CAT.truth_dir,
    out: Annotated[Path, typer.Option(help="Metrics JSON (DVC metrics).")] = CAT.metrics_file,
    plots: Annotated[Path, typer.Option(help="Folder for plots.")] = CAT.plots_dir,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Validated performance with intervals, calibration, decision curves, subgroups, oracle."""
    from pipeline.params import check_model_arguments, load_params
    from pipeline.stages import evaluate as stage
    from pipeline.stages.train import FACTORIES

    p = load_params(params)
    check_model_arguments(p.train, FACTORIES, params)  # small cohorts refit them (bootstrap)
    stage.run(features_file, models, truth, out, plots, p.train, p.evaluate, p.seed)
    console.print(f"metrics: [bold]{out}[/]  plots: [bold]{plots}[/]")


@app.command()
@friendly
def register(
    models: Annotated[Path, typer.Option(help="Folder of trained models.")] = CAT.models_dir,
    features_file: FeaturesOpt = CAT.features_file,
    metrics: Annotated[Path, typer.Option(help="Metrics JSON from evaluate.")] = CAT.metrics_file,
    plots: Annotated[Path, typer.Option(help="Plots folder from evaluate.")] = CAT.plots_dir,
    out: Annotated[Path, typer.Option(help="Record of registered versions.")] = CAT.registered_file,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Register each endpoint's selected model (net-response, net-pfs, net-os) as @challenger."""
    from pipeline.params import load_params
    from pipeline.stages import register as stage

    p = load_params(params)
    source = (
        f"Synthetic cohort from the netoutcomes simulator (mode {p.simulate.mode}, "
        f"{p.simulate.n_patients} patients, seed {p.seed}); no real patient data."
        if CAT.truth_dir.exists() else "Validated centre export (data/validated)."
    )
    stage.run(models, features_file, metrics, plots, out, p, source)
    console.print(f"registered: [bold]{out}[/]  "
                  "(promote with `netoutcomes promote --endpoint pfs`)")


@app.command()
@friendly
def explain(
    patient: Annotated[
        str | None, typer.Option("--patient", help="Pseudonym (as assigned by validate).")
    ] = None,
    cohort: Annotated[bool, typer.Option("--cohort", help="Write the cohort report.")] = False,
    out: Annotated[Path | None, typer.Option(help="HTML file to write.")] = None,
    features_file: FeaturesOpt = CAT.features_file,
    models: Annotated[Path, typer.Option(help="Folder of trained models.")] = CAT.models_dir,
    metrics: Annotated[Path, typer.Option(help="Metrics JSON from evaluate.")] = CAT.metrics_file,
    plots: Annotated[Path, typer.Option(help="Plots folder from evaluate.")] = CAT.plots_dir,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Explain predictions with SHAP as self-contained clinician reports (patient or cohort)."""
    from pipeline.params import load_params
    from pipeline.stages import explain as stage

    if (patient is None) == (not cohort):
        raise typer.BadParameter("give exactly one of --patient ID or --cohort")
    defaults = load_params(params).explain
    if patient is not None:
        target = out or CAT.patients_report_dir / f"{patient}.html"
        stage.explain_patient(patient, features_file, models, metrics, target,
                              horizons=defaults.horizons)
    else:
        target = out or CAT.cohort_report_file
        stage.explain_cohort(features_file, models, metrics, plots, target,
                             target.parent / "patients", defaults=defaults)
    console.print(f"report: [bold]{target}[/]  (open it in a browser)")


@app.command("what-if")
@friendly
def what_if(
    features_file: FeaturesOpt = CAT.features_file,
    models: Annotated[Path, typer.Option(help="Folder of trained models.")] = CAT.models_dir,
    out: Annotated[Path, typer.Option(help="Parquet file to write.")] = Path("what_if.parquet"),
    metrics: Annotated[
        Path, typer.Option(help="Metrics JSON (calibration-slope intervals).")
    ] = CAT.metrics_file,
    reference: Annotated[
        str, typer.Option(help="Therapy the differences are taken against.")
    ] = "ssa",
    horizon: Annotated[
        list[float] | None, typer.Option(help="Survival horizon in months (repeat).")
    ] = None,
) -> None:
    """Batch what-if: one row per patient and candidate therapy, difference vs a reference."""
    from pipeline.stages import what_if as stage

    table = stage.run(features_file, models, metrics, out, reference=reference,
                      horizons=horizon or [12.0, 24.0])
    console.print(f"what-if: [bold]{out}[/] ({len(table)} rows: patient x therapy)")


@app.command()
@friendly
def holdout(
    out: Annotated[
        Path, typer.Option(help="Folder for the hold-out cohort.")
    ] = Path("data/holdout"),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Simulate, validate and featurise an independent cohort for the promotion gates."""
    from pipeline.params import load_params
    from pipeline.stages import holdout as stage

    p = load_params(params)
    if p.source == "export":  # the gates use the patients train set aside instead
        path = stage.point_to_train_holdout(out)
        console.print(f"hold-out: [bold]{path}[/] (source: export: train.holdout_fraction)")
        return
    path = stage.run(out, p)
    console.print(f"hold-out cohort: [bold]{path}[/]")


def _register_mlops_commands() -> None:
    from pipeline.cli_flat import evaluate_flat
    from pipeline.cli_mlops import promote, serve
    from pipeline.cli_mlops import register as register_model

    app.command()(friendly(promote))
    app.command()(friendly(serve))
    app.command("register-model")(friendly(register_model))  # one saved model folder, by hand
    app.command("evaluate-flat")(evaluate_flat)  # reports its own input errors


_register_mlops_commands()


def _tracking_uri() -> str:
    from pipeline.tracking import tracking_uri

    return tracking_uri()


def main() -> None:  # pragma: no cover - console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
