"""Draw the patients of a population: the world's mix, a trial preset or a free selection."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.simulate._params import population_preset, preset_selection
from features.simulate.arms import arms_eligible
from features.simulate.covariates import draw_covariates
from features.simulate.selection import PopulationSelection, SelectionError
from features.simulate.therapy import compute_eligibility, draw_prior_lines

_MAX_SCREENING_BATCHES = 40
_MAX_SCREENING_BATCH = 200_000


def draw_population(
    parameters: dict[str, Any],
    n: int,
    rng: np.random.Generator,
    population: str | None,
    selection: PopulationSelection | None = None,
    arms: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Covariates and prior lines of ``n`` patients meeting the selection (screened in batches).

    A preset's selection comes from its ``select`` block, and its patients must be eligible for
    every arm; a free selection (``selection``) screens by its criteria and by eligibility for
    ``arms`` (none when not given). Arms may be trial arms (``placebo``, ``prrt_ssa``, ...).
    """
    preset = population_preset(parameters, population)
    if preset is not None:
        selection = preset_selection(parameters, population)
    if selection is None:
        pt = draw_covariates(parameters, n, rng, None)
        pt = pd.concat([pt, draw_prior_lines(parameters, n, rng, None)], axis=1)
        return pt, compute_eligibility(parameters, pt)
    arms = list(preset["arms"]) if preset is not None else list(arms or [])
    kept: list[pd.DataFrame] = []
    total = drawn = 0
    for _ in range(_MAX_SCREENING_BATCHES):  # screening batches, not a loop over patients
        rate = (total + 1) / (drawn + 1) if drawn else 1.0
        m = min(int(1.3 * (n - total) / rate) + 20, _MAX_SCREENING_BATCH)
        pt = draw_covariates(parameters, m, rng, selection)
        pt = pd.concat([pt, draw_prior_lines(parameters, m, rng, selection)], axis=1)
        ok = selection.mask(pt) & arms_eligible(
            compute_eligibility(parameters, pt), arms, parameters
        )
        kept.append(pt.loc[ok])
        total += int(ok.sum())
        drawn += m
        if total >= n or (total == 0 and drawn >= _MAX_SCREENING_BATCH):
            break
    if total < n:
        arms_txt = f" and eligible for every arm ({', '.join(arms)})" if arms else ""
        raise SelectionError(
            f"selection ({selection.describe()}{arms_txt}) kept {total} of {drawn} drawn "
            f"patients, fewer than the {n} asked for; widen the selection"
        )
    pt = pd.concat(kept, ignore_index=True).iloc[:n].reset_index(drop=True)
    return pt, compute_eligibility(parameters, pt)
