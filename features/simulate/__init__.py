"""Synthetic NET cohort simulator: raw multi-table export plus ground truth.

Public API: :data:`DEFAULT_PARAMETERS`, :class:`SimulatedCohort`, :func:`simulate_cohort`,
:func:`write_cohort`. Every number comes from the parameter dict (``parameters.yaml``, read by
the pipeline); randomness only through the generator passed in.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.simulate._params import WORLDS, apply_world, population_preset
from features.simulate.export import SimulatedCohort, assemble_tables, write_cohort
from features.simulate.imaging import build_imaging, draw_lesions
from features.simulate.labs import build_labs, build_pathology
from features.simulate.messy import add_messiness
from features.simulate.outcomes import (
    add_lesion_size_and_prognosis,
    compute_response_logit,
    draw_outcomes,
    marginal_response_probability,
)
from features.simulate.population import draw_population
from features.simulate.selection import PopulationSelection, SelectionError, parse_selection
from features.simulate.therapy import (
    THERAPIES,
    assign_therapy,
    compute_treatment_log_hr,
)
from features.simulate.timeline import build_assessments, build_treatments, draw_calendar

__all__ = [
    "DEFAULT_PARAMETERS",
    "PopulationSelection",
    "SelectionError",
    "SimulatedCohort",
    "THERAPIES",
    "WORLDS",
    "parse_selection",
    "simulate_cohort",
    "write_cohort",
]

DEFAULT_PARAMETERS: Path = Path(__file__).with_name("parameters.yaml")

log = logging.getLogger(__name__)


def _check_recordable(parameters: dict[str, Any], population: str | None) -> None:
    """A preset whose arms the raw export cannot record (placebo, PRRT + SSA) is refused."""
    preset = population_preset(parameters, population)
    other = [a for a in (preset or {}).get("arms", []) if a not in THERAPIES]
    if other:
        raise ValueError(
            f"population {population!r} has arm(s) {', '.join(other)} that the raw export cannot "
            "record as index therapies; replicate it with 'netoutcomes simulate-trials'"
        )


def _counterfactuals(parameters, pt: pd.DataFrame, eligible: pd.DataFrame) -> pd.DataFrame:
    """True lp_pfs, lp_os and p_response of every patient under every candidate therapy."""
    share = parameters["baseline_hazard"]["os_lp_treatment_share"]
    frames = []
    for t in THERAPIES:
        trt = compute_treatment_log_hr(parameters, pt, t)
        frames.append(
            pd.DataFrame(
                {
                    "pid": np.arange(len(pt)),
                    "therapy": t,
                    "eligible": eligible[t].to_numpy().astype(np.int8),
                    "trt_log_hr": trt,
                    "lp_pfs": pt["lp_pfs_cov"].to_numpy() + trt,
                    "lp_os": pt["lp_os_cov"].to_numpy() + share * trt,
                    "p_response": marginal_response_probability(
                        parameters, compute_response_logit(parameters, pt, t)
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def simulate_cohort(
    parameters: dict[str, Any],
    n_patients: int,
    rng: np.random.Generator,
    *,
    mode: str = "real_world",
    population: str | None = None,
    messy: bool = False,
    selection: PopulationSelection | None = None,
    world: str = "published",
) -> SimulatedCohort:
    """Simulate ``n_patients`` NET patients: raw tables (data contract §1) and truth.

    Args:
        parameters: parsed ``parameters.yaml`` (plain dict).
        n_patients: cohort size (>= 1).
        rng: the only source of randomness.
        mode: ``real_world`` (propensity-assigned therapy) or ``rct`` (random among eligible).
        population: ``None`` (mixed real-world NET population) or a preset name
            (``netter1``, ``radiant3``, ``sunitinib_pnet``, ``compete``; presets with placebo or
            PRRT + SSA arms run only in :mod:`features.simulate.trials`).
        messy: add the faults of real exports (units, spellings, duplicates, typos, ...).
        selection: enrolment criteria for a cohort without a preset (every therapy a
            candidate, real-world calendar); a preset brings its own (``select`` block).
        world: ``published`` (effects as the trials estimated them) or ``equipoise`` (active
            therapies comparable on average, stronger effect modification; ``worlds`` block).

    Returns:
        The cohort: ``tables`` (7 raw tables) and ``truth`` (``truth``, ``counterfactual``).
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")
    if mode not in ("rct", "real_world"):
        raise ValueError(f"mode must be 'rct' or 'real_world', got {mode!r}")
    parameters = apply_world(parameters, world)
    if population is not None and selection is not None:
        raise SelectionError(
            f"give either the preset {population!r} or a selection, not both: a preset brings "
            "its own selection (its 'select' block in the simulator parameters)"
        )
    _check_recordable(parameters, population)
    pt, eligible = draw_population(parameters, n_patients, rng, population, selection)
    lesions = draw_lesions(parameters, pt, rng)
    add_lesion_size_and_prognosis(parameters, pt, lesions)
    cf = _counterfactuals(parameters, pt, eligible)
    pt["therapy"] = assign_therapy(parameters, pt, eligible, rng, mode=mode, population=population)
    code = pd.Categorical(pt["therapy"], categories=THERAPIES).codes
    for col in ("trt_log_hr", "lp_pfs", "lp_os", "p_response"):
        pt[col] = cf[col].to_numpy().reshape(len(THERAPIES), len(pt))[code, np.arange(len(pt))]
    pt = pd.concat(
        [pt, draw_outcomes(parameters, pt, pt["trt_log_hr"].to_numpy(), rng, population)], axis=1
    )
    pt = pd.concat([pt, draw_calendar(parameters, pt, rng, population)], axis=1)
    parts = {"assessments": build_assessments(parameters, pt, rng, population)}
    parts["treatments"] = build_treatments(parameters, pt, parts["assessments"], rng)
    parts["labs"] = build_labs(parameters, pt, rng)
    parts["pathology"] = build_pathology(parameters, pt, rng)
    parts["studies"], parts["lesion_rows"] = build_imaging(
        parameters, pt, lesions, parts["assessments"], rng
    )
    del lesions
    # assemble_tables consumes ``parts`` (pops each internal frame) to keep peak memory low
    cohort = assemble_tables(parameters, pt, cf, parts, rng)
    if messy:
        # the clean tables are handed over (not kept) so that peak memory stays bounded
        clean, truth = dict(cohort.tables), cohort.truth
        del cohort
        cohort = SimulatedCohort(
            tables=add_messiness(parameters, clean, rng, consume=True), truth=truth
        )
    log.info(
        "simulated %d patients (mode=%s, population=%s, messy=%s)", len(pt), mode, population, messy
    )
    return cohort
