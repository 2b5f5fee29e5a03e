"""A fixed-seed generator of bad scoring requests, and a checker of the server's answers.

Works from the server's own description (``GET /model``: inputs with type, finite range,
categories, required) and one good row, so it fits any registered model. Used by
``test_serving_bad_requests.py`` and ``benchmarks/bench_serving_bad.py``.

Each case is a :class:`BadRequest`: the raw body, its content type, the statuses that are a
correct answer and, where the fault is one field, the field the answer must name.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MARK = "zqx"  # every generated text value starts with it: must never come back in an answer


@dataclass(frozen=True)
class BadRequest:
    kind: str
    body: bytes
    field: str | None = None
    statuses: tuple[int, ...] = (400,)
    content_type: str = "application/json"


class Client:
    """One keep-alive HTTP connection to the server (reopened after the server closes it)."""

    def __init__(self, url: str, timeout_s: float = 30.0):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        self.timeout_s = timeout_s
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, content_type: str = "application/json",
             path: str | None = None) -> tuple[int, str]:
        """``(status, body text)``; status 0 when the connection broke before an answer."""
        for _ in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=self.timeout_s)
            try:
                self.conn.request("POST", path or self.path, body=body,
                                  headers={"Content-Type": content_type})
                resp = self.conn.getresponse()
                text = resp.read().decode("utf-8", errors="replace")
                if resp.getheader("connection", "").lower() == "close":
                    self.close()
                return resp.status, text
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
        return 0, ""

    def get(self, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _records(rows: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps({"dataframe_records": rows, **extra}).encode()


def _text(rng: random.Random, n: int = 8) -> str:
    return MARK + "".join(rng.choice(string.ascii_letters + " -_.") for _ in range(n))


def _misspell(rng: random.Random, name: str) -> str:
    ops = [lambda s: s[:-1], lambda s: s[1:], lambda s: s.replace("_", "", 1) or s + "x",
           lambda s: s.upper(), lambda s: s + "s", lambda s: s.split("_")[0] + "_x",
           lambda s: s[: len(s) // 2]]
    out = rng.choice(ops)(name)
    return out if out != name else name + "_"


class Generator:
    """Bad requests for one model description (``GET /model``) and one good row."""

    def __init__(self, description: dict[str, Any], good_row: dict[str, Any], seed: int = 0):
        self.rng = random.Random(seed)
        self.inputs = description["inputs"]
        self.limits = description["limits"]
        self.good = dict(good_row)
        self.numeric = [f for f in self.inputs if f["dtype"] in ("numeric", "binary")]
        self.categorical = [f for f in self.inputs if f["dtype"] == "categorical"]
        self.required = [f["name"] for f in self.inputs if f["required"]]
        self.names = {f["name"] for f in self.inputs}
        self.makers: list[Callable[[], BadRequest]] = [
            self.out_of_range, self.huge_number, self.text_for_number, self.bool_for_number,
            self.nested_value, self.unknown_field, self.identifier_field, self.bad_category,
            self.missing_required, self.null_required, self.non_finite_token, self.malformed,
            self.deep_nesting, self.wrong_structure, self.bad_params, self.too_many_rows,
            self.duplicate_key, self.wrong_content_type, self.long_text, self.bad_binary,
            self.bad_split,
        ]

    def cases(self, n: int) -> Iterator[BadRequest]:
        """``n`` cases, cycling through every kind (then at random)."""
        for i in range(n):
            maker = self.makers[i] if i < len(self.makers) else self.rng.choice(self.makers)
            yield maker()

    def oversized(self) -> BadRequest:
        """A body just over the size limit (413)."""
        row = {**self.good}
        n = self.limits["max_body_bytes"] // max(len(json.dumps(row)), 1) + 10
        body = _records([row] * n)
        return BadRequest("oversized", body, None, (413,))

    # -- one bad field ------------------------------------------------------------------
    def _row(self, kind: str, name: str, value: Any) -> BadRequest:
        return BadRequest(kind, _records([{**self.good, name: value}]), name)

    def _pick(self, fields: list[dict[str, Any]]) -> dict[str, Any]:
        return self.rng.choice(fields)

    def out_of_range(self) -> BadRequest:
        f = self._pick([f for f in self.numeric if f["dtype"] == "numeric"])
        lo, hi = f["range"]
        span = max(hi - lo, 1.0)
        value = (hi + span * self.rng.uniform(0.01, 10) if self.rng.random() < 0.5
                 else lo - span * self.rng.uniform(0.01, 10))
        return self._row("out_of_range", f["name"], value)

    def huge_number(self) -> BadRequest:
        f = self._pick(self.numeric)
        value = self.rng.choice([1e308, -1e308, 1.7976931348623157e308,
                                 10.0 ** self.rng.randint(7, 300)])
        return self._row("huge_number", f["name"], value)

    def text_for_number(self) -> BadRequest:
        f = self._pick(self.numeric)
        value = self.rng.choice([_text(self.rng), "63.5", "1e3", "", " ", "NaN", "Infinity"])
        return self._row("text_for_number", f["name"], value)

    def bool_for_number(self) -> BadRequest:
        name = self._pick(self.numeric)["name"]
        return self._row("bool_for_number", name, self.rng.random() < 0.5)

    def nested_value(self) -> BadRequest:
        f = self._pick(self.inputs)
        value = self.rng.choice([[1.5], [], {"value": 2.5}, [[1]], {"unit": _text(self.rng)}])
        return self._row("nested_value", f["name"], value)

    def unknown_field(self) -> BadRequest:
        f = self._pick(self.inputs)
        wrong = _misspell(self.rng, f["name"])
        while wrong in self.names:
            wrong += "_"
        row = {k: v for k, v in self.good.items() if k != f["name"] or f["required"]}
        row[wrong] = self.good.get(f["name"], 1.0)
        return BadRequest("unknown_field", _records([row]), wrong)

    def identifier_field(self) -> BadRequest:
        name = self.rng.choice(["patient_name", "mrn", "patient_id", "date_of_birth", "nhs",
                                "address", "Ki67", "age", "cga", "alp_u_l_typo"])
        name = name if name not in self.names else name + "_x"
        return self._row("identifier_field", name, _text(self.rng))

    def bad_category(self) -> BadRequest:
        f = self._pick(self.categorical)
        value = self.rng.choice([_text(self.rng), 3.5, 1, True, f["categories"][0].upper()])
        return self._row("bad_category", f["name"], value)

    def long_text(self) -> BadRequest:
        f = self._pick(self.categorical)
        return self._row("long_text", f["name"], _text(self.rng, 500))

    def bad_binary(self) -> BadRequest:
        binary = [f for f in self.numeric if f["dtype"] == "binary"] or self.numeric
        value = self.rng.choice([0.5, 2, -1, 1.0001])
        return self._row("bad_binary", self._pick(binary)["name"], value)

    def missing_required(self) -> BadRequest:
        if not self.required:
            return self.out_of_range()
        name = self.rng.choice(self.required)
        row = {k: v for k, v in self.good.items() if k != name}
        return BadRequest("missing_required", _records([row]), name)

    def null_required(self) -> BadRequest:
        if not self.required:
            return self.huge_number()
        return self._row("null_required", self.rng.choice(self.required), None)

    # -- the body as a whole ------------------------------------------------------------
    def non_finite_token(self) -> BadRequest:
        f = self._pick(self.numeric)
        token = self.rng.choice(["NaN", "Infinity", "-Infinity"])
        body = _records([{**self.good, f["name"]: 12345.678}]).replace(b"12345.678",
                                                                        token.encode())
        return BadRequest("non_finite_token", body, None)

    def malformed(self) -> BadRequest:
        good = _records([self.good])
        cut = self.rng.randint(1, len(good) - 1)
        body = self.rng.choice([
            good[:cut], good[:-1] + b",}", b"{" + good, good.replace(b":", b"=", 1),
            b"\xff\xfe" + good, bytes(self.rng.randrange(256) for _ in range(64)), b"",
            good.replace(b'"', b"'"),
        ])
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return BadRequest("malformed", body, None)
        return BadRequest("malformed", b"{" + body, None)

    def deep_nesting(self) -> BadRequest:
        depth = self.rng.choice([7, 20, 1000, 5000, 100_000])
        opener, closer = self.rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        inner = opener * depth + b"1" + closer * depth
        body = self.rng.choice([inner, b'{"dataframe_records": ' + inner + b"}",
                                _records([{**self.good, "x": 1}]).replace(b'"x": 1',
                                                                           b'"x": ' + inner)])
        return BadRequest("deep_nesting", body, None, (400, 413))  # 413 when also too large

    def wrong_structure(self) -> BadRequest:
        body = self.rng.choice([
            b"[]", b"null", b"1.5", b'"text"', json.dumps([self.good]).encode(),
            json.dumps({"dataframe_record": [self.good]}).encode(),
            json.dumps({"dataframe_records": [self.good],
                        "dataframe_split": {"columns": [], "data": []}}).encode(),
            json.dumps({"dataframe_records": self.good}).encode(),
            json.dumps({"dataframe_records": [1, 2]}).encode(),
            json.dumps({"dataframe_records": []}).encode(),
            json.dumps({"inputs": [self.good]}).encode(),
            json.dumps({"dataframe_records": [{}]}).encode(),
        ])
        return BadRequest("wrong_structure", body, None)

    def bad_split(self) -> BadRequest:
        cols = list(self.good)
        data = [self.good[c] for c in cols]
        split = self.rng.choice([
            {"columns": cols, "data": [data[:-1]]}, {"columns": cols + cols, "data": [data * 2]},
            {"columns": [1, 2], "data": [[1, 2]]}, {"columns": cols}, {"data": [data]},
            {"columns": cols, "data": data}, {"columns": cols, "data": [data], "extra": 1},
        ])
        return BadRequest("bad_split", json.dumps({"dataframe_split": split}).encode(), None)

    def bad_params(self) -> BadRequest:
        params = self.rng.choice([{"explain": "yes"}, {"explian": True}, [True], {"explain": 1},
                                  "explain"])
        return BadRequest("bad_params", _records([self.good], params=params), None)

    def too_many_rows(self) -> BadRequest:
        rows = [self.good] * (self.limits["max_rows"] + 1)
        return BadRequest("too_many_rows", _records(rows), None, (400, 413))

    def duplicate_key(self) -> BadRequest:
        f = self._pick(self.numeric)
        inner = json.dumps(self.good)[1:-1]
        body = ('{"dataframe_records": [{' + inner + f', "{f["name"]}": 1' + "}]}").encode()
        if f["name"] not in self.good:
            body = ('{"dataframe_records": [{' + inner + f', "{f["name"]}": 0, '
                    f'"{f["name"]}": 1' + "}]}").encode()
        return BadRequest("duplicate_key", body, None)

    def wrong_content_type(self) -> BadRequest:
        ctype = self.rng.choice(["text/csv", "text/plain", "application/x-www-form-urlencoded",
                                 "application/octet-stream"])
        return BadRequest("wrong_content_type", _records([self.good]), None, (415,), ctype)


# --------------------------------------------------------------------------- checking


def _finite(text: str) -> bool:
    """Whether a JSON answer parses strictly and holds finite numbers only."""
    def reject(_: str) -> Any:
        raise ValueError("non-finite")

    def walk(obj: Any) -> bool:
        if isinstance(obj, float):
            return math.isfinite(obj)
        if isinstance(obj, dict):
            return all(walk(v) for v in obj.values())
        if isinstance(obj, list):
            return all(walk(v) for v in obj)
        return True

    try:
        return walk(json.loads(text, parse_constant=reject))
    except ValueError:
        return False


def problems(case: BadRequest, status: int, text: str) -> list[str]:
    """What is wrong with the server's answer to a bad request (empty: a correct answer)."""
    out = []
    if status == 200:
        out.append(f"{case.kind}: answered 200")
    elif status >= 500 or status == 0:
        out.append(f"{case.kind}: answered {status or 'nothing'}")
    elif status not in case.statuses:
        out.append(f"{case.kind}: answered {status}, expected one of {case.statuses}")
    if not _finite(text):
        out.append(f"{case.kind}: answer is not strict JSON with finite numbers")
        return out
    answer = json.loads(text)
    if case.field is not None and status == 400 and answer.get("field") != case.field:
        out.append(f"{case.kind}: answer names {answer.get('field')!r}, not {case.field!r}")
    if MARK in text:
        out.append(f"{case.kind}: a submitted value came back in the answer")
    return out
