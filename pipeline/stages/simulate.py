"""Stage ``simulate``: draw the synthetic NET cohort and write the raw export plus its truth."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from features.simulate import (
    DEFAULT_PARAMETERS,
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
) -> dict[str, Path]:
    """Simulate ``n_patients`` and write ``out_dir/<table>.csv`` and ``truth_dir/*.csv``.

    ``selection``: population criteria (``PopulationSelection`` or its ``key=value; ...`` text,
    see :func:`features.simulate.parse_selection`) instead of a preset ``population``.
    """
    parameters = load_yaml(parameters_file or DEFAULT_PARAMETERS)
    rng = np.random.default_rng(seed)
    try:
        sel = parse_selection(selection) if isinstance(selection, str) else selection
        cohort = simulate_cohort(
            parameters, n_patients, rng, mode=mode, population=population, messy=messy,
            selection=sel,
        )
    except SelectionError as err:
        raise InputError("--select", problem=str(err),
                         fix="see 'netoutcomes simulate --help' for the criteria") from None
    paths = write_cohort(cohort, out_dir, truth_dir)
    log.info("simulated %d patients (%s%s) into %s", n_patients, mode,
             ", messy" if messy else "", out_dir)
    return paths
