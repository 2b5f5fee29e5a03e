"""Serving: the input contract of a logged model, request checks, logging, and the local server.

The logged model is a models-from-code pyfunc (``pipeline/serving_model.py``) that loads the
estimator's native files (xgboost UBJ/JSON, no pickle). Requests are checked here against the
feature dictionary (numbers, ranges, categories) and rejected with a message that names the field
and never the value (MLflow's own schema errors echo the input rows, platform-notes §1.3).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clinical.endpoints import ENDPOINTS as CLINICAL_ENDPOINTS
from features import labs

log = logging.getLogger(__name__)

SERVING_MODEL_FILE = Path(__file__).with_name("serving_model.py")
MAX_ROWS = 1000
# an open dictionary bound (``None``) is closed at +/- this for requests: no field takes 1e308
OPEN_BOUND_LIMIT = 1.0e6
NUMERIC_DTYPES = ("numeric", "binary")
RESPONSE_OUTPUT = "p_response"
RISK_OUTPUT = "risk_score"
# serving names the binary kind "response" (its output is P(response))
ENDPOINT_KINDS = {name: "response" if e.kind == "binary" else e.kind
                  for name, e in CLINICAL_ENDPOINTS.items()}


class RequestError(ValueError):
    """A bad request: the message names the field and the rule, never the value."""

    def __init__(self, field: str, problem: str):
        self.field = field
        super().__init__(f"field '{field}': {problem}")


def safe_name(name: Any, limit: int = 60) -> str:
    """A field name as it may appear in a message: printable ASCII, at most ``limit`` chars."""
    text = "".join(c if c.isascii() and c.isprintable() and c not in "'\\" else "?"
                   for c in str(name))
    return text if len(text) <= limit else text[:limit] + "..."


def nearest_name(name: str, known: Sequence[str]) -> str | None:
    """The valid field a misspelt one most likely meant (case-insensitive), or None."""
    low = {k.lower(): k for k in known}
    key = name.lower()
    if key in low:
        return low[key]
    if len(key) >= 3:
        prefixed = sorted((k for k in low if k.startswith(key) or key.startswith(k)), key=len)
        if prefixed:
            return low[prefixed[0]]
    close = difflib.get_close_matches(key, list(low), n=1, cutoff=0.6)
    return low[close[0]] if close else None


def _hint(name: str, known: Sequence[str]) -> str:
    close = nearest_name(name, known)
    return f" (did you mean '{close}'?)" if close else ""


def unknown_fields_error(unknown: Sequence[Any], known: Sequence[str]) -> RequestError:
    """``field 'ki67': unknown input (did you mean 'ki67_percent'?)``, other unknowns listed."""
    names = list(dict.fromkeys(safe_name(u) for u in unknown))
    problem = f"unknown input{_hint(names[0], known)}"
    if len(names) > 1:
        others = [f"'{n}'{_hint(n, known)}" for n in names[1:6]]
        more = f" and {len(names) - 6} more" if len(names) > 6 else ""
        problem += f"; other unknown fields: {', '.join(others)}{more}"
    return RequestError(names[0], problem)


# --------------------------------------------------------------------------- input contract


def build_input_spec(dictionary: dict[str, Any], feature_names: Sequence[str],
                     required: Iterable[str] = ("therapy",)) -> list[dict[str, Any]]:
    """The model's input fields with type, range and categories from the feature dictionary.

    Args:
        dictionary: ``{"features": [entry, ...]}`` as written by the features stage.
        feature_names: the columns the estimator takes, in order.
        required: fields a request must carry (others may be missing: handled as missing data).

    Returns:
        One dict per field: ``name, dtype, range, categories, required, label, unit``.
    """
    entries = {e["name"]: e for e in dictionary.get("features", [])}
    required = set(required)
    spec = []
    for name in feature_names:
        entry = entries.get(name, {})
        spec.append({
            "name": name,
            "dtype": entry.get("dtype", "numeric"),
            "range": list(entry.get("range") or [None, None]),
            "categories": entry.get("categories"),
            "required": name in required,
            "label": entry.get("label", name),
            "unit": entry.get("unit", ""),
            "reference": ((entry.get("display") or {}).get("reference") or {}).get("value"),
        })
    return spec


def _bound_text(lo: float | None, hi: float | None) -> str:
    lo_t = "-inf" if lo is None else f"{lo:g}"
    hi_t = "inf" if hi is None else f"{hi:g}"
    return f"[{lo_t}, {hi_t}]"


def plausible_range(field: dict[str, Any], open_limit: float = OPEN_BOUND_LIMIT
                    ) -> tuple[float, float]:
    """The accepted range of a numeric field: the dictionary's, open ends closed at the limit."""
    if field["dtype"] == "binary":
        return 0.0, 1.0
    lo, hi = field["range"] if field.get("range") else (None, None)
    lo = -open_limit if lo is None else float(lo)
    hi = open_limit if hi is None else float(hi)
    return lo, hi


def _value_kind(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "bool"
    return "text" if isinstance(value, str | bytes) else "other"


def _check_numeric(values: np.ndarray, present: np.ndarray, field: dict[str, Any],
                   open_limit: float = OPEN_BOUND_LIMIT) -> np.ndarray:
    name = field["name"]
    kinds = np.frompyfunc(_value_kind, 1, 1)(values) if values.size else np.zeros(0, object)
    if (kinds == "bool").any():
        raise RequestError(name, "must be a number (true/false is not accepted)")
    if (kinds == "text").any():
        raise RequestError(name, "must be a finite number, not text")
    numbers = np.full(values.shape[0], np.nan)
    try:
        numbers[present] = np.asarray(values[present], dtype=np.float64) if present.any() else []
    except (TypeError, ValueError):  # a list, a dict, an object that is no number
        raise RequestError(name, "must be a finite number") from None
    if (present & np.isnan(numbers)).any() or np.isinf(numbers).any():
        raise RequestError(name, "must be a finite number")
    lo, hi = plausible_range(field, open_limit)
    if field["dtype"] == "binary" and (present & (numbers != 0) & (numbers != 1)).any():
        raise RequestError(name, "must be 0 or 1")
    with np.errstate(invalid="ignore"):
        if (numbers < lo).any() or (numbers > hi).any():
            raise RequestError(name, f"is outside the allowed range {_bound_text(lo, hi)}")
    return numbers


def _check_categorical(values: np.ndarray, present: np.ndarray, field: dict[str, Any]
                       ) -> np.ndarray:
    name = field["name"]
    is_text = np.frompyfunc(lambda v: isinstance(v, str), 1, 1)(values).astype(bool)
    if (present & ~is_text).any():
        raise RequestError(name, "must be a text category")
    cats = field.get("categories")
    if cats is not None and any(v not in cats for v in values[present]):
        raise RequestError(name, f"must be one of {sorted(cats)}")
    return np.where(present, values, None)


def _check_shape(frame: Any, names: Sequence[str], max_rows: int) -> None:
    """A table with known columns only, 1..max_rows rows, none of them empty."""
    if not isinstance(frame, pd.DataFrame):
        raise RequestError("(body)", "expected a table of patients (dataframe_split/records)")
    unknown = [c for c in frame.columns if c not in set(names)]
    if unknown:
        raise unknown_fields_error(unknown, names)
    if len(frame) == 0:
        raise RequestError("(body)", "the request has no rows")
    if len(frame) > max_rows:
        raise RequestError("(body)", f"at most {max_rows} rows per request")
    empty = np.flatnonzero(frame.isna().to_numpy().all(axis=1)) if len(frame.columns) else [0]
    if len(empty):
        raise RequestError("(body)", f"row {int(empty[0])} has no input values")


def check_request(frame: pd.DataFrame, spec: Sequence[dict[str, Any]],
                  max_rows: int = MAX_ROWS, required: Iterable[str] = (),
                  open_limit: float = OPEN_BOUND_LIMIT) -> pd.DataFrame:
    """Check and type a request against the input spec.

    Numbers become float64 (ints are accepted and cast; booleans are not numbers), categories
    stay text, absent optional fields become missing values.

    Args:
        frame: the request rows.
        spec: output of ``build_input_spec``.
        max_rows: largest accepted batch.
        required: fields required on top of the spec's own (serving params).
        open_limit: closes the dictionary's open range ends (see ``plausible_range``).

    Returns:
        A new frame with exactly the spec's columns, in order.

    Raises:
        RequestError: naming the first offending field (never its value); an unknown field
            is named with the nearest valid one.
    """
    _check_shape(frame, [f["name"] for f in spec], max_rows)
    n = len(frame)
    extra_required = set(required)
    out = {}
    for field in spec:  # loop over the fields, vectorised over patients
        name, numeric = field["name"], field["dtype"] in NUMERIC_DTYPES
        is_required = field.get("required") or name in extra_required
        if name not in frame.columns:
            if is_required:
                raise RequestError(name, "is required")
            out[name] = np.full(n, np.nan) if numeric else np.full(n, None, dtype=object)
            continue
        values = frame[name].to_numpy(dtype=object)
        present = ~pd.isna(values) if values.size else np.zeros(0, bool)
        if is_required and not present.all():
            raise RequestError(name, "is required")
        if numeric:
            out[name] = _check_numeric(values, present, field, open_limit)
        else:
            out[name] = _check_categorical(values, present, field)
    return pd.DataFrame(out)


def missing_inputs(checked: pd.DataFrame) -> list[list[str]]:
    """Per row, the inputs that are missing (and so handled as missing data by the model)."""
    isna = checked.isna().to_numpy()
    cols = list(checked.columns)
    return [[cols[j] for j in np.flatnonzero(row)] for row in isna]


@dataclass(frozen=True)
class UnitInput:
    """A request field in clinical units that the server turns into a model feature.

    ``convert(raw, uln)`` is the features stage's own function (``features.labs``), so a
    request is engineered exactly as the training data were.
    """

    raw: str
    unit: str
    raw_range: tuple[float, float]
    target: str
    uln: str
    uln_range: tuple[float, float]
    convert: Callable[[Any, Any], Any]


UNIT_INPUTS = (
    UnitInput("cga_ng_ml", "ng/mL", (0.0, 100_000.0), "cga_log10_uln", "cga_uln_ng_ml",
              (1.0, 10_000.0), labs.cga_log10_uln),
    UnitInput("alp", "U/L", (0.0, 5_000.0), "alp_x_uln", "alp_uln_u_l", (10.0, 2_000.0),
              labs.alp_x_uln),
)


def unit_inputs(spec: Sequence[dict[str, Any]]) -> list[UnitInput]:
    """The clinical-unit inputs a model with this spec accepts (those whose feature it takes)."""
    names = {f["name"] for f in spec}
    return [u for u in UNIT_INPUTS if u.target in names]


def unit_field_names(spec: Sequence[dict[str, Any]]) -> list[str]:
    """Request fields accepted on top of the spec's: raw values and their ULNs."""
    names = {f["name"] for f in spec}
    out = []
    for u in unit_inputs(spec):
        out += [n for n in (u.raw, u.uln) if n not in names]
    return out


def _unit_values(frame: pd.DataFrame, name: str, bounds: tuple[float, float]
                 ) -> tuple[np.ndarray, np.ndarray]:
    values = frame[name].to_numpy(dtype=object)
    present = ~pd.isna(values)
    field = {"name": name, "dtype": "numeric", "range": list(bounds)}
    return _check_numeric(values, present, field), present


def convert_units(frame: pd.DataFrame, spec: Sequence[dict[str, Any]]
                  ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Clinical-unit fields (raw CgA with its ULN, ALP in U/L) -> the model's features.

    A missing ULN is the one of the training data (the dictionary's reference). Returns the
    frame with the features filled (the raw and ULN fields dropped unless the model takes
    them) and ``{feature: raw field}`` for every feature computed.

    Raises:
        RequestError: a raw value or ULN out of range, both the raw value and its feature
            given, or no ULN where the model records none.
    """
    by_name = {f["name"]: f for f in spec}
    frame, converted = frame.copy(), {}
    for u in unit_inputs(spec):
        if u.raw in frame.columns:
            raw, has_raw = _unit_values(frame, u.raw, u.raw_range)
        else:
            raw, has_raw = np.full(len(frame), np.nan), np.zeros(len(frame), bool)
        uln = np.full(len(frame), np.nan)
        if u.uln in frame.columns:
            uln, has_uln = _unit_values(frame, u.uln, u.uln_range)
            if (has_uln & ~has_raw).any():
                raise RequestError(u.uln, f"is given without {u.raw}")
        if not has_raw.any() or (u.raw in by_name and u.target in frame.columns):
            frame = frame.drop(columns=[c for c in (u.raw, u.uln)
                                        if c in frame.columns and c not in by_name])
            continue
        default = by_name[u.target].get("reference")
        if default is None and (has_raw & np.isnan(uln)).any():
            raise RequestError(u.uln, f"is required with {u.raw} (this model records no ULN)")
        uln = np.where(np.isnan(uln), np.nan if default is None else float(default), uln)
        if u.target in frame.columns and (has_raw & ~pd.isna(frame[u.target])).any():
            raise RequestError(u.target, f"give either {u.raw} or {u.target}, not both")
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(has_raw, u.convert(np.where(has_raw, raw, 1.0), uln), np.nan)
        lo, hi = plausible_range(by_name[u.target])
        if (value[has_raw] < lo).any() or (value[has_raw] > hi).any():
            raise RequestError(u.raw, f"gives {u.target} outside its range {_bound_text(lo, hi)}")
        target = (frame[u.target].to_numpy(dtype=object) if u.target in frame.columns
                  else np.full(len(frame), None, dtype=object))
        frame[u.target] = np.where(has_raw, value, target)
        frame = frame.drop(columns=[c for c in (u.raw, u.uln)
                                    if c in frame.columns and c not in by_name])
        if has_raw.any():
            converted[u.target] = u.raw
    return frame, converted


def synthetic_example(spec: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One synthetic row made from the dictionary ranges (mid-range numbers, first category).

    Never a real patient: logged as the model's input example.
    """
    row: dict[str, Any] = {}
    for field in spec:
        if field["dtype"] in NUMERIC_DTYPES:
            lo, hi = field["range"] if field["range"] else (None, None)
            if field["dtype"] == "binary":
                row[field["name"]] = 0.0
            elif lo is not None and hi is not None:
                row[field["name"]] = float(round((lo + hi) / 2.0, 3))
            elif lo is not None:
                row[field["name"]] = float(lo) + 1.0
            else:
                row[field["name"]] = 0.0 if hi is None else float(hi) - 1.0
        else:
            cats = field.get("categories") or ["unknown"]
            row[field["name"]] = cats[0]
    return pd.DataFrame([row])


def output_columns(kind: str, horizons_months: Sequence[float]) -> list[str]:
    """Names of the served outputs (before optional SHAP columns)."""
    if kind == "response":
        return [RESPONSE_OUTPUT]
    return [RISK_OUTPUT] + [survival_column(h) for h in horizons_months]


def survival_column(horizon_months: float) -> str:
    """``survival_12m`` for the 12-month horizon."""
    return f"survival_{horizon_months:g}m"


def build_signature(spec: Sequence[dict[str, Any]], kind: str, horizons_months: Sequence[float]):
    """The model's typed signature: numbers ``double``, categories ``string``, outputs ``double``.

    Required fields are required; the others are optional (missing data). Requests reach the
    model through ``pipeline.serving_app``, which parses and checks them itself
    (``check_request``) before MLflow's schema enforcement, so MLflow's conversion errors (which
    quote the offending value) are never the answer.
    """
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema([ColSpec("double" if f["dtype"] in NUMERIC_DTYPES else "string", f["name"],
                             required=bool(f.get("required"))) for f in spec])
    outputs = Schema([ColSpec("double", c) for c in output_columns(kind, horizons_months)])
    params = ParamSchema([ParamSpec("explain", "boolean", False)])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def as_model_inputs(frame: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """``frame`` ready for a loaded model's ``predict``: its signature's columns, ints as floats.

    MLflow refuses an ``int64`` column for a ``double`` input ("lossy") with a message quoting
    the rows; in-process callers (promotion, tests) pass their frames through here first.
    """
    if schema is None:
        return frame
    names = [c for c in schema.input_names() if c in frame.columns]
    doubles = {c.name for c in schema.inputs
               if getattr(c.type, "name", None) in ("double", "float")}
    out = frame[names].copy()
    for name in names:
        if name in doubles and (pd.api.types.is_integer_dtype(out[name])
                                or pd.api.types.is_bool_dtype(out[name])):
            out[name] = out[name].astype(np.float64)
    return out


# --------------------------------------------------------------------------- logging


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_tree(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): sha256_file(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build_serving_config(endpoint: str, estimator: str, spec: Sequence[dict[str, Any]],
                         model_dir: Path, horizons_months: Sequence[float]) -> dict[str, Any]:
    """What ``serving_model.py`` needs at load time (JSON; no code, no pickle)."""
    if endpoint not in ENDPOINT_KINDS:
        raise ValueError(f"endpoint must be one of {sorted(ENDPOINT_KINDS)}, got {endpoint!r}")
    return {
        "endpoint": endpoint,
        "kind": ENDPOINT_KINDS[endpoint],
        "estimator": estimator,
        "horizons_months": [float(h) for h in horizons_months],
        "features": list(spec),
        "sha256": hash_tree(model_dir),
    }


def log_serving_model(endpoint: str, model_dir: Path, estimator: str,
                      spec: Sequence[dict[str, Any]], horizons_months: Sequence[float] = (12, 24),
                      name: str = "model") -> Any:
    """Log the models-from-code pyfunc with the native model files (inside the active run).

    Args:
        endpoint: ``response``, ``pfs`` or ``os``.
        model_dir: folder written by the estimator's ``save`` (native xgboost/JSON files).
        estimator: dotted class path with a ``load(dir)`` classmethod, e.g.
            ``models.survival.XGBCoxSurvival`` (or ``xgboost.Booster`` for a bare booster).
        spec: input spec from ``build_input_spec``.
        horizons_months: survival horizons served (ignored for response).
        name: the logged model's name within the run.

    Returns:
        MLflow ``ModelInfo`` (``model_uri``, ``model_id``, ...).
    """
    import mlflow

    config = build_serving_config(endpoint, estimator, spec, Path(model_dir), horizons_months)
    with tempfile.TemporaryDirectory(prefix="netoutcomes-serving-") as tmp:
        cfg_path = Path(tmp) / "serving_config.json"
        cfg_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        native = Path(tmp) / "native"
        shutil.copytree(model_dir, native)
        kind = config["kind"]
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(SERVING_MODEL_FILE),
            artifacts={"serving_config": str(cfg_path), "native": str(native)},
            signature=build_signature(spec, kind, config["horizons_months"]),
            input_example=synthetic_example(spec),
            pip_requirements=_pip_requirements(),
        )


def _pip_requirements() -> list[str]:
    import importlib.metadata as md

    out = []
    for pkg in ("mlflow", "xgboost", "pandas", "numpy", "scikit-learn", "scikit-survival"):
        try:
            out.append(f"{pkg}=={md.version(pkg)}")
        except md.PackageNotFoundError:
            continue
    return out


# --------------------------------------------------------------------------- local server


def free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


SERVER_APP = "pipeline.serving_app:create_app_from_env"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def serve_command(port: int, host: str = "127.0.0.1", workers: int = 1) -> list[str]:
    """uvicorn running ``pipeline.serving_app`` in this interpreter (no virtualenv, no download).

    The model and the request rules travel in the ``NETOUTCOMES_SERVING`` variable
    (``ServingSettings.to_env``; see ``server_env``).
    """
    return [sys.executable, "-m", "uvicorn", "--factory", SERVER_APP, "--host", host,
            "--port", str(port), "--workers", str(int(workers)),
            "--timeout-graceful-shutdown", "5", "--no-server-header"]


def start_server(model_uri: str, port: int, host: str = "127.0.0.1",
                 env: dict[str, str] | None = None, log_file: Path | None = None,
                 settings: Any = None, workers: int = 1) -> subprocess.Popen:
    """Start the scoring server in the background (its own process group).

    Args:
        model_uri: ``models:/net-pfs@challenger`` etc. (ignored when ``settings`` is given).
        settings: a ``pipeline.serving_app.ServingSettings``; default: its defaults.
    """
    from pipeline.serving_app import ServingSettings

    settings = settings or ServingSettings(model_uri=model_uri)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(serve_command(port, host, workers),
                            env=server_env(env, settings), stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def server_env(extra: dict[str, str] | None = None, settings: Any = None) -> dict[str, str]:
    """The server's environment: this interpreter's ``bin`` first on PATH, the project importable.

    The pseudonym-key variables are left out (the server never needs the key);
    ``settings`` (``ServingSettings``) is passed as ``NETOUTCOMES_SERVING``.
    """
    from pipeline.secrets import child_env
    from pipeline.serving_app import SETTINGS_ENV

    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    pythonpath = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH"))
                                 if p)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + path, "PYTHONPATH": pythonpath,
           **(extra or {})}
    if settings is not None:
        env[SETTINGS_ENV] = settings.to_env()
    return child_env(env)


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout_s: float = 60.0) -> float:
    """Poll ``url`` (``/ping``) until it answers 200; return the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"no answer from {url} within {timeout_s:.0f} s")


def stop_server(proc: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """Stop the server and its workers (terminate the group, then kill)."""
    import signal

    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=timeout_s)


def post_json(url: str, payload: dict[str, Any] | bytes, timeout_s: float = 10.0
              ) -> tuple[int, str]:
    """POST a JSON body; return ``(status, body text)`` for 2xx and error statuses alike."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
