"""Stage ``simulate``: draw the synthetic NET cohort and write the raw export plus its truth."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from features.simulate import (
    DEFAULT_PARAMETERS,
    THERAPIES,
    WORLDS,
    PopulationSelection,
    SelectionError,
    parse_selection,
    simulate_cohort,
    write_cohort,
)
from pipeline.errors import InputError
from pipeline.params import load_yaml

log = logging.getLogger(__name__)


def run(
    out_dir: Path,
    truth_dir: Path,
    *,
    n_patients: int,
    seed: int,
    mode: str = "real_world",
    population: str | None = None,
    messy: bool = False,
    parameters_file: Path | None = None,
    selection: str | PopulationSelection | None = None,
    world: str = "published",
) -> dict[str, Path]:
    """Simulate ``n_patients`` and write ``out_dir/<table>.csv`` and ``truth_dir/*.csv``.

    ``selection``: population criteria (``PopulationSelection`` or its ``key=value; ...`` text,
    see :func:`features.simulate.parse_selection`) instead of a preset ``population``.
    """
    parameters = load_yaml(parameters_file or DEFAULT_PARAMETERS)
    if world not in WORLDS:
        raise InputError("--world", problem=f"unknown world {world!r}",
                         fix=f"choose from {', '.join(WORLDS)}")
    _check_population(parameters, population)
    rng = np.random.default_rng(seed)
    try:
        sel = parse_selection(selection) if isinstance(selection, str) else selection
        cohort = simulate_cohort(
            parameters, n_patients, rng, mode=mode, population=population, messy=messy,
            selection=sel, world=world,
        )
    except SelectionError as err:
        raise InputError("--select", problem=str(err),
                         fix="see 'netoutcomes simulate --help' for the criteria") from None
    paths = write_cohort(cohort, out_dir, truth_dir)
    log.info("simulated %d patients (%s%s) into %s", n_patients, mode,
             ", messy" if messy else "", out_dir)
    return paths


def _check_population(parameters: dict[str, Any], population: str | None) -> None:
    """A preset the raw export can hold (known, arms all contract therapies), else InputError."""
    if population is None:
        return
    presets = {k: v for k, v in parameters["populations"].items() if k != "source"}
    if population not in presets:
        raise InputError("--population", problem=f"unknown population {population!r}",
                         fix=f"choose from {', '.join(presets)}")
    other = [a for a in presets[population]["arms"] if a not in THERAPIES]
    if other:
        raise InputError("--population", problem=f"population {population!r} has arm(s) "
                         f"{', '.join(other)} that the raw export cannot record",
                         fix="replicate it with 'netoutcomes simulate-trials'")


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A table row for JSON: a median not reached (infinite) or undefined becomes null."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}


def run_trials(
    out_dir: Path,
    *,
    n_patients: int,
    seed: int,
    trials: list[str] | None = None,
    parameters_file: Path | None = None,
    world: str = "published",
) -> list[dict[str, Any]]:
    """Replicate the published trials; write ``trials.json`` and ``trials.md`` into ``out_dir``.

    ``n_patients`` per trial (randomised 1:1 between its arms); ``trials`` the names of the
    ``trials`` block of the simulator parameters (all by default).
    """
    from features.simulate.trials import simulate_trials, trial_names, trials_markdown

    parameters = load_yaml(parameters_file or DEFAULT_PARAMETERS)
    unknown = [t for t in trials or [] if t not in trial_names(parameters)]
    if unknown:
        raise InputError("--trials", problem=f"unknown trial {unknown[0]!r}",
                         fix=f"choose from {', '.join(trial_names(parameters))}")
    if n_patients < 20:
        raise InputError("--n-patients", problem=f"{n_patients} patients per trial is too few",
                         fix="give at least 20 (default 2000)")
    t0 = time.perf_counter()
    if world not in WORLDS:
        raise InputError("--world", problem=f"unknown world {world!r}",
                         fix=f"choose from {', '.join(WORLDS)}")
    rows = simulate_trials(parameters, n_patients, seed, trials, world=world)
    seconds = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"n_patients_per_trial": n_patients, "seed": seed, "world": world,
           "seconds": round(seconds, 2), "endpoints": [_json_row(r) for r in rows]}
    (out_dir / "trials.json").write_text(json.dumps(doc, indent=2, allow_nan=False),
                                         encoding="utf-8")
    header = (f"# Simulated vs published trials\n\nWorld {world}, {n_patients} patients per "
              f"trial, seed {seed}; "
              "PFS read on the simulated scans; Cox HR, Kaplan-Meier medians, Wilson ORR "
              "intervals.\n\n")
    (out_dir / "trials.md").write_text(header + trials_markdown(rows), encoding="utf-8")
    log.info("replicated %d trials (%d endpoints) in %.1f s into %s",
             len({r["trial"] for r in rows}), len(rows), seconds, out_dir)
    return rows
