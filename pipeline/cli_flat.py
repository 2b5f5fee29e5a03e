"""``netoutcomes evaluate-flat``: bring your own single-table cohort (one CSV, one row per patient).

A plain function with typer options; ``pipeline/cli.py`` registers it with
``app.command("evaluate-flat")(evaluate_flat)``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

log = logging.getLogger(__name__)
console = Console()
errors = Console(stderr=True)
DEFAULT_PARAMS = Path("params.yaml")


def evaluate_flat(
    csv: Annotated[Path, typer.Option("--csv", help="The cohort: one CSV, one row per patient.")],
    time: Annotated[str, typer.Option("--time", help="Column of follow-up time (any unit).")],
    event: Annotated[str, typer.Option("--event", help="Event column: 1 event, 0 censored.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for metrics.json.")],
    response: Annotated[
        str | None, typer.Option("--response", help="Optional 0/1 response column (evaluated too).")
    ] = None,
    treatment: Annotated[
        str | None, typer.Option("--treatment", help="Optional treatment column (a model input); "
                                 "two or more arms add the benefit figures.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Reference arm of --treatment (default: "
                                 "the first value in sort order).")
    ] = None,
    randomised: Annotated[
        bool, typer.Option("--randomised", help="The treatment was randomised: report the "
                           "randomised estimate beside the model's.")
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Column that is not a model input (repeatable)."),
    ] = None,
    allow_column: Annotated[
        list[str] | None,
        typer.Option("--allow-column", help="Keep this model input although the leakage and "
                     "identifier screen flags it (repeatable)."),
    ] = None,
    mlflow: Annotated[
        bool, typer.Option("--mlflow/--no-mlflow", help="Log one MLflow run (store: "
                           "MLFLOW_TRACKING_URI, else ./mlflow.db).")
    ] = True,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Outer folds per repeat.")] = 5,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Repeats of the folds.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed; same seed = same metrics.json.")] = 0,
    params: Annotated[
        Path | None, typer.Option("--params", help="params file whose train: sets candidates "
                                  "and tuning (default: ./params.yaml if there is one, else "
                                  "built-in defaults).")
    ] = None,
) -> None:
    """Run the pipeline's model choice and nested cross-validation on a single-table cohort."""
    metrics, train, source = _stopping_on_errors(
        csv, out, lambda: _run(csv, time, event, out, response, treatment, exclude or [], folds,
                               repeats, seed, params, reference=reference,
                               randomised=randomised, allow=allow_column or []))
    _print_tables(metrics)
    if mlflow:
        options = {"settings": source, "time": time, "event": event, "response": response,
                   "treatment": treatment, "folds": folds, "repeats": repeats, "seed": seed,
                   "randomised": randomised}
        _log_run(metrics, out, csv, train, options)
    console.print(f"report: [bold]{out / 'report.html'}[/]  metrics: "
                  f"[bold]{out / 'metrics.json'}[/]")
    response_sel = metrics["response"]["selected"] if "response" in metrics else "none"
    console.print(f"selected: survival [bold]{metrics['selected']}[/], response "
                  f"[bold]{response_sel}[/]")


def _stopping_on_errors(csv: Path, out: Path, work: Any) -> Any:
    """``work()``, with every foreseeable failure as one line and exit code 2 (1: fitting)."""
    from pydantic import ValidationError

    from pipeline.errors import InputError

    try:
        return work()
    except InputError as err:
        errors.print(f"[bold red]error:[/] {err}")
        raise typer.Exit(2) from None
    except ValidationError as err:
        errors.print(f"[bold red]error in params:[/] {err}")
        raise typer.Exit(2) from None
    except OSError as err:  # --out not writable, disk full ...
        errors.print(f"[bold red]error:[/] cannot write the results to {out} "
                     f"({err.strerror or type(err).__name__}). Fix: pass a writable folder "
                     "to --out")
        raise typer.Exit(2) from None
    except (ValueError, ArithmeticError, RuntimeError) as err:
        log.debug("evaluate-flat stopped", exc_info=True)  # details with -v, never the values
        errors.print(f"[bold red]error:[/] the analysis of {csv.name} stopped "
                     f"({type(err).__name__} while fitting or scoring the models). Fix: check "
                     "the table's columns (run with -v for details)")
        raise typer.Exit(1) from None


def _log_run(metrics: dict, out: Path, csv: Path, train: Any, options: dict) -> None:
    """Log the MLflow run; a store that cannot be reached is a warning (the files are written)."""
    from mlflow.exceptions import MlflowException

    from pipeline.stages.evaluate_flat_outputs import log_mlflow_run

    try:
        run_id = log_mlflow_run(metrics, out, csv, options, train.model_dump())
    except (MlflowException, OSError) as err:
        errors.print(f"[yellow]warning:[/] MLflow run not logged ({type(err).__name__}); the "
                     f"results are in {out}. Check MLFLOW_TRACKING_URI or pass --no-mlflow")
        return
    console.print(f"MLflow run: [bold]{run_id}[/]")


def load_flat_params(params: Path | None) -> tuple[Any, Any, str]:
    """``(train, benefit, source)``: from ``params`` or ./params.yaml, else the built-in defaults.

    A named ``params`` file that does not exist is an error (never silently the defaults);
    families the file lists without settings get the built-in ones.

    Raises:
        ParamsError: A named file that is missing or invalid.
    """
    from pipeline.params import BenefitParams, ParamsError, check_model_arguments, load_params
    from pipeline.stages import evaluate_flat as stage
    from pipeline.stages.train import FACTORIES

    if params is None:
        if not DEFAULT_PARAMS.is_file():
            return stage.default_train_params(), BenefitParams(), "built-in defaults"
        params = DEFAULT_PARAMS
    elif not Path(params).is_file():
        raise ParamsError(params, problem="params file not found",
                          fix="check the path given to --params, or leave --params out to use "
                              "./params.yaml or the built-in defaults")
    loaded = load_params(params)
    check_model_arguments(loaded.train, FACTORIES, params)
    train = stage.with_default_models(loaded.train, params)
    unknown = [n for names in train.candidates.values() for n in names if n not in FACTORIES]
    if unknown:
        raise ParamsError(params, problem=f"unknown candidate family '{unknown[0]}' in "
                          "train.candidates", fix=f"use one of {', '.join(FACTORIES)}")
    return train, loaded.evaluate.benefit, str(params)


def _run(csv, time, event, out, response, treatment, exclude, folds, repeats, seed, params, *,
         reference=None, randomised=False, allow=()):
    from pipeline.stages import evaluate_flat as stage

    train, benefit, source = load_flat_params(params)
    errors.print(f"settings: {source}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task("nested CV (fold fits)", total=None)
        metrics = stage.run(csv, out, train, time=time, event=event, response=response,
                         treatment=treatment, exclude=exclude, n_splits=folds, n_repeats=repeats,
                         seed=seed, progress=lambda k: progress.advance(task, k),
                         benefit=benefit, randomised=randomised,
                         reference=reference, allow=allow)
    return metrics, train, source


def _print_tables(metrics: dict) -> None:
    from pipeline.stages.evaluate_flat import benefit_table, metrics_table, policy_table

    console.print(metrics_table(metrics, "survival"))
    if "response" in metrics:
        console.print(metrics_table(metrics["response"], "binary"))
    for name, block in (("survival", metrics), ("response", metrics.get("response", {}))):
        if block.get("benefit"):
            design = "randomised" if metrics["input"].get("randomised") else "observational"
            console.print(benefit_table(block["benefit"], f"{name}: does the model choose the "
                                        f"arm well? ({design} data; model effect interval: "
                                        "patients resampled, fitted model held fixed)"))
            console.print(policy_table(block["benefit"], f"{name}: value of treatment rules "
                                       "(model = the arm with the best predicted outcome)"))
