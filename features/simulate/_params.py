"""Small accessors for the simulator's parameter dict (the parsed ``parameters.yaml``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.simulate.selection import PopulationSelection, selection_from_mapping


def block(parameters: dict[str, Any], name: str) -> dict[str, Any]:
    """One parameter block, with a clear error when it is missing."""
    try:
        return parameters[name]
    except KeyError as exc:
        raise KeyError(f"simulator parameters lack the block {name!r}") from exc


def log_hr(value: float) -> float:
    """Log of a hazard ratio given as HR."""
    return float(np.log(value))


def population_preset(parameters: dict[str, Any], population: str | None) -> dict[str, Any] | None:
    """The population preset, ``None`` for the mixed real-world population."""
    if population is None:
        return None
    presets = {k: v for k, v in block(parameters, "populations").items() if k != "source"}
    if population not in presets:
        raise ValueError(f"unknown population {population!r}; expected one of {sorted(presets)}")
    return presets[population]


def preset_selection(
    parameters: dict[str, Any], population: str | None
) -> PopulationSelection | None:
    """The enrolment criteria of a preset (a ``PopulationSelection``), ``None`` for no preset."""
    preset = population_preset(parameters, population)
    if preset is None:
        return None
    return selection_from_mapping(preset.get("select", {}), f"populations.{population}.select")


WORLDS = ("published", "equipoise")


def apply_world(parameters: dict[str, Any], world: str) -> dict[str, Any]:
    """The parameters of a world: ``published`` as they are, others overlaid from ``worlds``."""
    if world == "published":
        return parameters
    overlays = {k: v for k, v in parameters.get("worlds", {}).items() if k != "source"}
    if world not in overlays:
        valid = ", ".join(["published", *overlays])
        raise ValueError(f"unknown world {world!r}; expected one of {valid}")
    return _merged(parameters, overlays[world])


def _merged(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merged(base[key], value)
        else:
            out[key] = value
    return out


def days(values: np.ndarray) -> np.ndarray:
    """Whole days (values rounded) as a ``timedelta64[ns]`` array."""
    return np.round(np.asarray(values, dtype=float)).astype(np.int64) * np.timedelta64(
        86_400_000_000_000, "ns"
    )


def sort_rows(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows sorted by ``keys`` (stable; strings lexicographically), index reset."""
    arrays = []
    for key in reversed(keys):
        col = frame[key]
        if col.dtype == object or isinstance(col.dtype, pd.StringDtype):
            arrays.append(pd.factorize(col, sort=True)[0])
        elif pd.api.types.is_datetime64_any_dtype(col):
            arrays.append(col.to_numpy().astype("datetime64[ns]").view(np.int64))
        else:
            arrays.append(np.asarray(col, dtype=float))
    order = np.lexsort(arrays) if arrays else np.arange(len(frame))
    return frame.iloc[order].reset_index(drop=True)


MONTH_DAYS = 30.4375
