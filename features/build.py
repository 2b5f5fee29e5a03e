"""Assemble the cohort table: one row per prediction (patient, index line) and its dictionary."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from features.clinical import derive_clinical_features
from features.dictionary import build_dictionary, check_against_dictionary, column_order
from features.imaging import derive_imaging_features
from features.index import KEYS, FeatureConfig, select_index_lines
from features.labs import derive_lab_features
from features.pathology import derive_pathology_features
from features.targets import derive_targets

__all__ = ["FeatureConfig", "build_features", "REQUIRED_TABLES"]

from features.contract import TABLES

log = logging.getLogger(__name__)

REQUIRED_TABLES = TABLES  # every table of the data contract
_CATEGORICAL = ("patient_id", "centre_id", "sex", "primary_site", "who_grade", "therapy",
                "specimen", "differentiation")


def build_features(
    tables: dict[str, pd.DataFrame], config: FeatureConfig
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Build the cohort table and its feature dictionary from validated tables.

    Args:
        tables: validated tables by name (see ``docs/data-contract.md``); inputs are not mutated.
        config: feature settings.

    Returns:
        ``(cohort, dictionary)``: cohort has one row per prediction, columns in dictionary order
        (identifiers, group columns, treatment, features, targets) and no dates.

    Raises:
        KeyError: a required table is missing.
    """
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        raise KeyError(f"build_features: missing validated tables {missing}")
    tables = {name: _decategorise(tables[name]) for name in REQUIRED_TABLES}
    tables, patient_ids = _encode_ids(tables)
    index = select_index_lines(tables["treatments"], tables["assessments"], config)
    patients = tables["patients"]
    families = [
        derive_clinical_features(patients, tables["treatments"], index, config),
        derive_pathology_features(tables["pathology"], index, config),
        derive_lab_features(tables["labs"], patients, index, config),
        derive_imaging_features(tables["imaging_studies"], tables["lesions"], index, config),
        derive_targets(patients, tables["assessments"], index),
    ]
    cohort = index.set_index(KEYS)[["therapy"]]
    for family in families:
        cohort = cohort.join(family, how="left")
    cohort = cohort.reset_index()
    cohort["patient_id"] = patient_ids.take(cohort["patient_id"].to_numpy())
    patients = patients.assign(patient_id=patient_ids.take(patients["patient_id"].to_numpy()))
    centres = patients.drop_duplicates("patient_id").set_index("patient_id")["centre_id"]
    cohort["centre_id"] = cohort["patient_id"].map(centres).astype(object)
    observed = sorted(cohort["centre_id"].dropna().astype(str).unique().tolist())
    dictionary = build_dictionary(config, centres=observed)
    cohort = cohort[column_order(dictionary)]
    cohort = _set_dtypes(cohort)
    problems = check_against_dictionary(cohort, dictionary)
    if problems:
        log.warning("feature table vs dictionary: %d problems, e.g. %s", len(problems),
                    problems[:3])
    log.info("cohort: %d predictions x %d columns", len(cohort), cohort.shape[1])
    return cohort, dictionary


def _encode_ids(
    tables: dict[str, pd.DataFrame],
) -> tuple[dict[str, pd.DataFrame], pd.Index]:
    """Replace ``patient_id`` and ``study_id`` by integer codes (fast joins on long tables).

    Codes follow the sorted identifiers, so outputs do not depend on input row order.

    Returns:
        The re-coded tables (new frames; inputs untouched) and the sorted patient identifiers
        (``ids.take(code)`` gives the identifier back).
    """
    out = dict(tables)
    for column, names in (("patient_id", [n for n in REQUIRED_TABLES if n != "lesions"]),
                          ("study_id", ["imaging_studies", "lesions"])):
        uniques = [pd.unique(tables[name][column].astype(object)) for name in names]
        ids = pd.Index(pd.unique(np.concatenate(uniques)), dtype=object).dropna().sort_values()
        for name in names:
            codes = ids.get_indexer(out[name][column].astype(object))
            out[name] = out[name].assign(**{column: codes}).loc[codes >= 0]
        if column == "patient_id":
            patient_ids = ids
    return out, patient_ids


def _decategorise(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as objects (grouping on categoricals would expand all categories)."""
    cats = [col for col in frame.columns if isinstance(frame[col].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    return frame.astype({col: object for col in cats})


def _set_dtypes(cohort: pd.DataFrame) -> pd.DataFrame:
    """Identifiers and categoricals as objects, ``line`` as int, everything else float."""
    out = cohort.copy()
    for col in out.columns:
        if col in _CATEGORICAL:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif col == "line":
            out[col] = out[col].astype("int64")
        else:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out
