"""Stage ``features``: validated tables -> one row per prediction + the feature dictionary."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from features.build import FeatureConfig, build_features
from pipeline.catalog import RAW_TABLES, dictionary_path_for
from pipeline.errors import InputError
from pipeline.io import write_json, write_parquet
from pipeline.params import FeaturesParams

log = logging.getLogger(__name__)


def read_validated(validated_dir: Path) -> dict[str, pd.DataFrame]:
    """Read every validated table; a missing one is a clear input error."""
    tables = {}
    for name in RAW_TABLES:
        path = validated_dir / f"{name}.parquet"
        if not path.exists():
            raise InputError(
                file=str(path),
                column="",
                fix="run `netoutcomes validate --raw DIR --out "
                f"{validated_dir}` first (validated tables are written there)",
                problem="validated table not found",
            )
        tables[name] = pd.read_parquet(path)
    return tables


def run(validated_dir: Path, out_file: Path, params: FeaturesParams) -> tuple[Path, Path]:
    """Build the cohort feature table and its dictionary; return both paths."""
    tables = read_validated(validated_dir)
    config = FeatureConfig(
        lookback_days=dict(params.lookback_days),
        index_therapies=tuple(params.index_therapies),
        index_line_policy=params.index_line_policy,
        cga_uln=params.cga_uln,
        alp_uln=params.alp_uln,
    )
    cohort, dictionary = build_features(tables, config)
    write_parquet(cohort, out_file)
    dict_path = write_json(dictionary, dictionary_path_for(out_file))
    log.info("features: %d predictions x %d columns -> %s", len(cohort), cohort.shape[1], out_file)
    return out_file, dict_path
