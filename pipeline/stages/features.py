"""Stage ``features``: validated tables -> one row per prediction + the feature dictionary."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from features.build import FeatureConfig, build_features
from pipeline.catalog import RAW_TABLES, dictionary_path_for, quarantine_dir_for
from pipeline.errors import InputError
from pipeline.io import read_json, write_json, write_parquet
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


def _quarantine_summary(validated_dir: Path) -> str:
    """`` (N patients quarantined: rule n, ...)`` from the validation report, if there is one."""
    try:
        entry = read_json(validated_dir / "validation_report.json")["tables"]["patients"]
        reasons = ", ".join(f"{k} {v}" for k, v in entry["reasons"].items())
        return f" ({entry['rows_quarantined']} of {entry['rows_in']} patients quarantined: " \
               f"{reasons or 'none'})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _require_patients(tables: dict[str, pd.DataFrame], validated_dir: Path) -> None:
    if len(tables["patients"]) == 0:
        raise InputError(
            file=str(validated_dir / "patients.parquet"), column="",
            fix=f"fix the rows listed in {quarantine_dir_for(validated_dir) / 'patients.parquet'} "
            "(quarantine_rule, quarantine_column, source_row) in the export, then validate again",
            problem="no patient passed validation, so there is no cohort"
            + _quarantine_summary(validated_dir))


def run(validated_dir: Path, out_file: Path, params: FeaturesParams) -> tuple[Path, Path]:
    """Build the cohort feature table and its dictionary; return both paths.

    An empty cohort is an input error naming why (no valid patient, or no index line).
    """
    tables = read_validated(validated_dir)
    _require_patients(tables, validated_dir)
    config = FeatureConfig(
        lookback_days=dict(params.lookback_days),
        index_therapies=tuple(params.index_therapies),
        index_line_policy=params.index_line_policy,
        cga_uln=params.cga_uln,
        alp_uln=params.alp_uln,
    )
    cohort, dictionary = build_features(tables, config)
    if len(cohort) == 0:
        raise InputError(
            file=str(validated_dir / "treatments.parquet"), column="therapy",
            fix="check features.index_therapies and features.index_line_policy in params.yaml "
            "against the therapies of the export (and the quarantined treatment rows)",
            problem=f"no prediction row: none of {len(tables['patients'])} valid patients has a "
            f"valid treatment line with an index therapy ({', '.join(config.index_therapies)})")
    write_parquet(cohort, out_file)
    dict_path = write_json(dictionary, dictionary_path_for(out_file))
    log.info("features: %d predictions x %d columns -> %s", len(cohort), cohort.shape[1], out_file)
    return out_file, dict_path
