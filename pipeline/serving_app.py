"""The scoring server behind ``netoutcomes serve``: a strict front on the registered pyfunc.

MLflow's own scoring server drops unknown columns with a warning, answers 500 to a deeply nested
body, has no body-size limit and writes ``Infinity`` into its JSON. This ASGI app (run by
uvicorn, ``--factory pipeline.serving_app:create_app_from_env``) loads the same registered model
with ``mlflow.pyfunc.load_model`` and keeps MLflow's request format (``dataframe_records`` /
``dataframe_split`` and ``params``), but:

* reads at most ``max_body_bytes`` (413 beyond) and refuses nesting deeper than ``max_depth``
  before parsing (400);
* parses strict JSON (no ``NaN``/``Infinity``, no duplicate keys);
* rejects an unknown or misspelt field with 400 naming it and the nearest valid one; numbers
  must be JSON numbers (no text, no ``true``/``false``) inside the dictionary's plausible range;
* answers the predictions with, per row, the inputs that were missing (handled as missing data
  by the model) and warnings, plus the model's registered name, version and alias;
* accepts inputs in clinical units (raw CgA in ng/mL with its ULN, ALP in U/L with its ULN)
  and turns them into the model's features with the features stage's own functions
  (``pipeline.serving.convert_units``), listed in ``converted_inputs``;
* writes finite numbers only: a non-finite score is a 400 naming the open-range inputs given.

Messages name fields and rules, never a submitted value (platform-notes §1.3).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.serving import (
    MAX_ROWS,
    NUMERIC_DTYPES,
    OPEN_BOUND_LIMIT,
    RequestError,
    check_request,
    convert_units,
    missing_inputs,
    safe_name,
    unit_field_names,
    unit_inputs,
    unknown_fields_error,
)

log = logging.getLogger(__name__)

SETTINGS_ENV = "NETOUTCOMES_SERVING"
TOP_LEVEL_KEYS = ("dataframe_records", "dataframe_split", "params")
SPLIT_KEYS = ("columns", "data", "index")
PARAM_KEYS = ("explain",)
MAX_TEXT = 200
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


@dataclass(frozen=True)
class ServingSettings:
    """What the server needs; ``serving`` in params.yaml sets the limits and required inputs.

    Attributes:
        model_uri: what to load (``models:/net-pfs/3`` or ``models:/net-pfs@champion``).
        name, version, alias: the registered model answered with every prediction (resolved
            from ``model_uri`` when not given).
        required: inputs a request must carry, on top of those the model was registered with.
        max_body_bytes: largest request body read (413 beyond).
        max_depth: deepest JSON nesting accepted (a request needs 4).
        max_rows: most patients per request.
        open_bound: closes the dictionary's open range ends at +/- this value.
        warn_missing_fraction: warn when more than this share of a row's inputs is missing.
        timeout_s: longest time one request may take (504 beyond).
    """

    model_uri: str
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    required: tuple[str, ...] = ("therapy",)
    max_body_bytes: int = 1_000_000
    max_depth: int = 6
    max_rows: int = MAX_ROWS
    open_bound: float = OPEN_BOUND_LIMIT
    warn_missing_fraction: float = 0.5
    timeout_s: float = 60.0

    def to_env(self) -> str:
        """JSON for the ``NETOUTCOMES_SERVING`` variable of the server process."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServingSettings:
        environ = os.environ if environ is None else environ
        raw = environ.get(SETTINGS_ENV)
        if not raw:
            raise RuntimeError(f"{SETTINGS_ENV} is not set: start the server with "
                               "`netoutcomes serve` (or pipeline.serving.start_server)")
        data = json.loads(raw)
        data["required"] = tuple(data.get("required") or ())
        return cls(**data)


class BodyError(Exception):
    """A request refused before its rows are read (status, code, message)."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code = status, code
        super().__init__(message)


# --------------------------------------------------------------------------- parsing


def json_depth(raw: bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text (strings skipped), without parsing it."""
    stripped = _JSON_STRING.sub(b'""', raw)
    arr = np.frombuffer(stripped, dtype=np.uint8)
    if arr.size == 0:
        return 0
    step = (np.isin(arr, (ord("["), ord("{"))).astype(np.int64)
            - np.isin(arr, (ord("]"), ord("}"))).astype(np.int64))
    return int(np.cumsum(step).max(initial=0))


def _no_constants(name: str) -> Any:
    raise BodyError(400, "INVALID_JSON", f"{name} is not a number in JSON; send a finite number "
                    "or null for a missing value")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BodyError(400, "INVALID_JSON", f"field '{safe_name(key)}' appears twice in "
                            "one object")
        out[key] = value
    return out


def parse_json(raw: bytes, max_depth: int) -> Any:
    """Strict JSON: depth-limited, no NaN/Infinity, no duplicate keys; errors never quote it."""
    if json_depth(raw) > max_depth:
        raise BodyError(400, "INVALID_JSON", f"the body is nested deeper than {max_depth} levels")
    try:
        return json.loads(raw, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise BodyError(400, "INVALID_JSON", f"the body is not valid JSON (line {err.lineno}, "
                        f"column {err.colno}: {err.msg})") from None
    except (UnicodeDecodeError, RecursionError):
        raise BodyError(400, "INVALID_JSON", "the body is not valid UTF-8 JSON") from None


def _did_you_mean(key: str, valid: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_keys(obj: Mapping[str, Any], valid: Sequence[str], where: str) -> None:
    unknown = [k for k in obj if k not in valid]
    if unknown:
        name = safe_name(unknown[0])
        raise BodyError(400, "INVALID_PARAMETER_VALUE", f"unknown key '{name}' in {where}"
                        f"{_did_you_mean(name, valid)}; valid keys: {', '.join(valid)}")


def _check_value(name: str, value: Any) -> None:
    if isinstance(value, dict | list):
        raise RequestError(name, "must be a single value (a number, a text or null)")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise RequestError(name, f"text longer than {MAX_TEXT} characters")


def _records(records: Any, max_rows: int) -> list[dict[str, Any]]:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise BodyError(400, "INVALID_PARAMETER_VALUE",
                        "dataframe_records must be a list of objects (one per patient)")
    if len(records) > max_rows:
        raise RequestError("(body)", f"at most {max_rows} rows per request")
    return records


def _split(split: Any, max_rows: int) -> list[dict[str, Any]]:
    if not isinstance(split, dict):
        raise BodyError(400, "INVALID_PARAMETER_VALUE",
                        "dataframe_split must be an object with columns and data")
    _check_keys(split, SPLIT_KEYS, "dataframe_split")
    columns, data = split.get("columns"), split.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BodyError(400, "INVALID_PARAMETER_VALUE",
                        "dataframe_split.columns must be a list of field names")
    if len(set(columns)) != len(columns):
        raise BodyError(400, "INVALID_PARAMETER_VALUE", "dataframe_split.columns repeats a name")
    if not isinstance(data, list) or not all(isinstance(r, list) and len(r) == len(columns)
                                             for r in data):
        raise BodyError(400, "INVALID_PARAMETER_VALUE", "dataframe_split.data must be a list "
                        "of rows, each with one value per column")
    if len(data) > max_rows:
        raise RequestError("(body)", f"at most {max_rows} rows per request")
    return [dict(zip(columns, row, strict=True)) for row in data]


def _params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise BodyError(400, "INVALID_PARAMETER_VALUE", "params must be an object")
    _check_keys(params, PARAM_KEYS, "params")
    if "explain" in params and not isinstance(params["explain"], bool):
        raise BodyError(400, "INVALID_PARAMETER_VALUE", "params.explain must be true or false")
    return dict(params)


def request_rows(body: Any, known: Sequence[str], max_rows: int
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The patient rows and params of a parsed body; unknown fields and nested values refused."""
    if not isinstance(body, dict):
        raise BodyError(400, "INVALID_PARAMETER_VALUE",
                        "the body must be a JSON object with dataframe_records or dataframe_split")
    _check_keys(body, TOP_LEVEL_KEYS, "the body")
    given = [k for k in ("dataframe_records", "dataframe_split") if k in body]
    if len(given) != 1:
        raise BodyError(400, "INVALID_PARAMETER_VALUE",
                        "send exactly one of dataframe_records or dataframe_split")
    rows = (_records(body["dataframe_records"], max_rows) if given[0] == "dataframe_records"
            else _split(body["dataframe_split"], max_rows))
    known_set = set(known)
    seen: dict[str, None] = {}
    for row in rows:
        for name, value in row.items():
            seen.setdefault(name)
            if name in known_set:
                _check_value(name, value)
    unknown = [n for n in seen if n not in known_set]
    if unknown:
        raise unknown_fields_error(unknown, known)
    frame = pd.DataFrame({name: pd.Series([row.get(name) for row in rows], dtype=object)
                          for name in seen}, index=range(len(rows)))
    return frame, _params(body.get("params"))


# --------------------------------------------------------------------------- the model


def resolve_model(settings: ServingSettings) -> tuple[str, dict[str, Any]]:
    """``(uri to load, {"name", "version", "alias"})``; an alias is pinned to its version."""
    info = {"name": settings.name, "version": settings.version, "alias": settings.alias}
    match = re.fullmatch(r"models:/([^/@]+)(?:@([^/]+)|/(\d+))", settings.model_uri)
    if match is None:
        return settings.model_uri, info
    name, alias, version = match.groups()
    info["name"] = info["name"] or name
    info["alias"] = info["alias"] or alias
    if version:
        info["version"] = info["version"] or version
    if info["version"] is None and alias:
        from mlflow import MlflowClient

        info["version"] = str(MlflowClient().get_model_version_by_alias(name, alias).version)
    uri = f"models:/{name}/{info['version']}" if info["version"] else settings.model_uri
    return uri, info


class Scorer:
    """The loaded model with its input spec and the request rules of ``ServingSettings``."""

    def __init__(self, settings: ServingSettings, model: Any, info: dict[str, Any]):
        self.settings = settings
        self.model = model
        self.info = info
        inner = model.unwrap_python_model()
        self.spec = list(inner.spec)
        self.endpoint = inner.config.get("endpoint")
        self.names = [f["name"] for f in self.spec]
        self.accepted = self.names + unit_field_names(self.spec)  # + raw CgA, ALP, ULNs
        self.required = tuple(r for r in settings.required if r in self.names)
        self.open_fields = [f["name"] for f in self.spec if f["dtype"] in NUMERIC_DTYPES
                            and None in list(f.get("range") or [None, None])]

    @classmethod
    def load(cls, settings: ServingSettings) -> Scorer:
        import mlflow

        uri, info = resolve_model(settings)
        return cls(settings, mlflow.pyfunc.load_model(uri), info)

    def model_info(self) -> dict[str, Any]:
        return {**self.info, "endpoint": self.endpoint}

    def describe(self) -> dict[str, Any]:
        """``GET /model``: the model and its input fields (type, range, required)."""
        fields = [{k: f.get(k) for k in ("name", "dtype", "unit", "label", "categories")}
                  | {"range": list(_finite_range(f, self.settings.open_bound)),
                     "required": bool(f.get("required")) or f["name"] in self.required}
                  for f in self.spec]
        for u in unit_inputs(self.spec):
            fields += [{"name": n, "dtype": "numeric", "unit": unit, "label": label,
                        "categories": None, "range": list(bounds), "required": False,
                        "converts_to": u.target}
                       for n, unit, label, bounds in (
                           (u.raw, u.unit, f"{u.target} in clinical units", u.raw_range),
                           (u.uln, u.unit, f"upper limit of normal of {u.raw}", u.uln_range))
                       if n not in self.names]
        return {"model": self.model_info(), "inputs": fields,
                "limits": {"max_rows": self.settings.max_rows,
                           "max_body_bytes": self.settings.max_body_bytes,
                           "max_depth": self.settings.max_depth}}

    def score(self, raw: bytes) -> dict[str, Any]:
        """Parse, check and score one request body; raises ``BodyError``/``RequestError``."""
        body = parse_json(raw, self.settings.max_depth)
        frame, params = request_rows(body, self.accepted, self.settings.max_rows)
        frame, converted = convert_units(frame, self.spec)
        checked = check_request(frame, self.spec, self.settings.max_rows, self.required,
                                self.settings.open_bound)
        out = self._predict(checked, params)
        values = out.to_numpy(dtype=np.float64)
        bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
        if bad_rows.size:
            raise self._non_finite(checked, int(bad_rows[0]))
        missing = missing_inputs(checked)
        return {"predictions": out.to_dict(orient="records"),
                "imputed_inputs": missing,
                "warnings": [self._warnings(m) for m in missing],
                "converted_inputs": converted,
                "model": self.model_info()}

    def _predict(self, checked: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        from mlflow.exceptions import MlflowException

        from pipeline.serving_model import SafeInputError

        try:
            return pd.DataFrame(self.model.predict(checked, params=params or None))
        except SafeInputError as err:
            raise BodyError(400, "INVALID_PARAMETER_VALUE", err.message) from None
        except MlflowException:  # its text may quote the rows: answer without it
            raise BodyError(400, "INVALID_PARAMETER_VALUE",
                            "the request does not match the model's input schema") from None

    def _warnings(self, missing: list[str]) -> list[str]:
        n = len(self.names)
        if len(missing) > self.settings.warn_missing_fraction * n:
            return [f"{len(missing)} of {n} inputs are missing: they are handled as missing "
                    "data, so the prediction rests largely on what is typical in the training "
                    "cohort"]
        return []

    def _non_finite(self, checked: pd.DataFrame, row: int) -> RequestError:
        given = [f for f in self.open_fields if pd.notna(checked.iloc[row][f])]
        where = f" (inputs with an open range given: {', '.join(given)})" if given else ""
        return RequestError("(body)", f"row {row}: the model gave no finite score for these "
                            f"inputs; check their values{where}")


def _finite_range(field_: dict[str, Any], open_bound: float) -> tuple[float, float] | tuple:
    if field_["dtype"] not in NUMERIC_DTYPES:
        return ()
    from pipeline.serving import plausible_range

    return plausible_range(field_, open_bound)


# --------------------------------------------------------------------------- the app


def _error(status: int, code: str, message: str, field_: str | None = None) -> Any:
    from starlette.responses import JSONResponse

    content: dict[str, Any] = {"error_code": code, "message": message}
    if field_ is not None:
        content["field"] = field_
    return JSONResponse(content, status_code=status)


async def read_body(request: Any, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes (or announces it)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise BodyError(413, "REQUEST_LIMIT_EXCEEDED", f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, "REQUEST_LIMIT_EXCEEDED",
                            f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: ServingSettings, scorer: Scorer | None = None) -> Any:
    """The Starlette app: ``/ping``, ``/health``, ``/version``, ``/model``, ``/invocations``."""
    import asyncio

    from mlflow.version import VERSION
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    scorer = scorer or Scorer.load(settings)

    async def ping(request: Any) -> Response:
        return Response("\n", media_type="application/json")

    async def version(request: Any) -> Response:
        return Response(VERSION, media_type="application/json")

    async def model(request: Any) -> Response:
        return JSONResponse(scorer.describe())

    async def invocations(request: Any) -> Response:
        start = time.perf_counter()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if content_type != "application/json":
                raise BodyError(415, "UNSUPPORTED_MEDIA_TYPE",
                                "send the request as Content-Type: application/json")
            raw = await read_body(request, settings.max_body_bytes)
            answer = await asyncio.wait_for(run_in_threadpool(scorer.score, raw),
                                            timeout=settings.timeout_s)
        except BodyError as err:
            return _error(err.status, err.code, f"invalid request: {err}")
        except RequestError as err:
            return _error(400, "INVALID_PARAMETER_VALUE", f"invalid request: {err}", err.field)
        except TimeoutError:
            return _error(504, "TIMEOUT", f"scoring took longer than {settings.timeout_s:g} s")
        except Exception as err:  # noqa: BLE001 - never a traceback (or a value) to the caller
            log.error("scoring failed: %s", type(err).__name__)
            return _error(500, "INTERNAL_ERROR", "the model could not score this request")
        log.debug("scored in %.1f ms", 1000 * (time.perf_counter() - start))
        body = json.dumps(answer, allow_nan=False)
        return Response(body, media_type="application/json")

    routes = [Route("/ping", ping), Route("/health", ping), Route("/version", version),
              Route("/model", model), Route("/invocations", invocations, methods=["POST"])]
    return Starlette(routes=routes)


def create_app_from_env() -> Any:
    """uvicorn factory: settings from ``NETOUTCOMES_SERVING``."""
    return create_app(ServingSettings.from_env())
