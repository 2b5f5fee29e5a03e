"""Stage ``holdout``: an independent synthetic cohort for the promotion gates.

Champion and challenger must be scored on patients neither was trained on. With the synthetic
default we draw a fresh cohort (its own seed) and pass it through the same ``validate`` and
``features`` stages, so the hold-out has the training cohort's contract and feature definitions.
With a real single-centre cohort, set ``train.holdout_fraction`` instead (the train stage then sets
patients aside into ``data/models/holdout.parquet``).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from pipeline.catalog import quarantine_dir_for, truth_dir_for
from pipeline.params import Params
from pipeline.secrets import load_pseudonym_key
from pipeline.stages import features, simulate, validate

log = logging.getLogger(__name__)


TRAIN_HOLDOUT = Path("data/models/holdout.parquet")
NOTE = ("source: export -- no synthetic hold-out is drawn for a centre's cohort. The promotion "
        "gates use the patients the train stage set aside (train.holdout_fraction): {file}\n")


def point_to_train_holdout(out_dir: Path) -> Path:
    """With a real export: write a note naming the train stage's hold-out, draw nothing."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    note = out_dir / "README.txt"
    note.write_text(NOTE.format(file=TRAIN_HOLDOUT), encoding="utf-8")
    return note


def holdout_file(params: Params) -> Path:
    """The held-out cohort the promotion gates read by default."""
    return TRAIN_HOLDOUT if params.source == "export" else Path("data/holdout/cohort.parquet")


def run(out_dir: Path, params: Params) -> Path:
    """Simulate, validate and featurise ``simulate.holdout_n_patients`` new patients."""
    raw = out_dir / "raw"
    simulate.run(raw, truth_dir_for(raw), n_patients=params.simulate.holdout_n_patients,
                 seed=params.seed + params.simulate.holdout_seed_offset, mode=params.simulate.mode,
                 population=params.simulate.population, messy=params.simulate.messy,
                 world=params.simulate.world)
    # The hold-out is simulated here: the demo key is allowed when no key is set (validate
    # checks the simulator's manifest), and the outputs say so.
    key, demo = load_pseudonym_key(demo=True)
    validated = out_dir / "validated"
    validate.run(raw, validated, quarantine_dir_for(validated),
                 validated / "validation_report.json", key, demo_key=demo)
    cohort_file, _ = features.run(validated, out_dir / "cohort.parquet", params.features)
    log.info("hold-out cohort: %s", cohort_file)
    return cohort_file
