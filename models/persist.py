"""Load any saved netoutcomes model from its folder (native formats, no pickle)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from models.design import read_json

__all__ = ["MODEL_CLASSES", "load_model"]

#: Saved ``kind`` -> module holding the class.
MODEL_CLASSES = {
    "XGBResponseClassifier": "models.response",
    "LogisticResponseClassifier": "models.response",
    "XGBCoxSurvival": "models.survival",
    "XGBAFTSurvival": "models.survival",
    "PenalisedCoxSurvival": "models.survival",
}


def load_model(path_dir: Path | str) -> Any:
    """Rebuild the fitted model saved in ``path_dir`` (its ``design_`` too, when saved).

    Raises:
        ValueError: If the folder holds no recognised model.
    """
    path = Path(path_dir)
    sidecar = path / "model.json"
    if not sidecar.exists():
        raise ValueError(f"{path}: no model.json; not a saved netoutcomes model")
    kind = read_json(sidecar).get("kind")
    if kind not in MODEL_CLASSES:
        raise ValueError(f"{path}: unknown model kind {kind!r}; "
                         f"expected one of {sorted(MODEL_CLASSES)}")
    cls = getattr(importlib.import_module(MODEL_CLASSES[kind]), kind)
    return cls.load(path)
