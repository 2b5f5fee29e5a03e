"""Hundreds of generated bad requests against a real server (the audit of issue 16, kept).

0 answers 200 for a bad field, 0 answers 5xx, strict JSON with finite numbers only, the bad field
named, no submitted value echoed, the server up throughout and good answers unchanged.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from bad_requests import Client, Generator, problems
from mlops_helpers import DICTIONARY, simulate_cohort, store_in

from models.design import DesignMatrix
from models.survival import XGBCoxSurvival, make_surv
from pipeline import registry, serving
from pipeline.serving_app import ServingSettings

pytestmark = pytest.mark.slow

N_BAD = 600
INPUTS = ["age_at_index", "ki67_percent", "krenning_score", "functional_syndrome",
          "cga_log_slope_per_month", "cga_log10_uln", "alp_x_uln", "therapy"]
OPEN_SLOPE = {"name": "cga_log_slope_per_month", "label": "CgA trend", "unit": "ln/month",
              "dtype": "numeric", "range": [None, None], "role": "feature"}
LAB_ENTRIES = [  # as features.dictionary writes them (ULNs of training: 100 ng/mL, 120 U/L)
    {"name": "cga_log10_uln", "dtype": "numeric", "range": [-2.0, 3.0], "role": "feature",
     "display": {"transform": "log10_multiple", "reference": {"value": 100.0, "unit": "ng/mL"}}},
    {"name": "alp_x_uln", "dtype": "numeric", "range": [0, 41.666667], "role": "feature",
     "display": {"reference": {"value": 120.0, "unit": "U/L"}}},
]


def _cohort(n: int, seed: int):
    rng = np.random.default_rng(seed)
    frame = simulate_cohort(n, seed)
    frame["functional_syndrome"] = rng.integers(0, 2, n).astype(float)
    frame["cga_log_slope_per_month"] = rng.normal(0, 0.05, n)
    frame["cga_log10_uln"] = rng.normal(0.5, 0.6, n).clip(-2, 3).round(3)
    frame["alp_x_uln"] = rng.gamma(2.0, 0.6, n).round(3)
    return frame


@pytest.fixture(scope="module")
def server(tmp_path_factory, empty_store_db):
    """A PFS model with a binary and an open-range input, served with required core inputs."""
    tmp = tmp_path_factory.mktemp("bad")
    with store_in(tmp, empty_store_db, "bad-requests"):
        dictionary = {"features": [*DICTIONARY["features"], OPEN_SLOPE, *LAB_ENTRIES]}
        train = _cohort(400, 5)
        design = DesignMatrix().fit(train[INPUTS], dictionary)
        model = XGBCoxSurvival(n_estimators=40).fit(
            design.transform(train[INPUTS]),
            make_surv(train["pfs_months"].to_numpy(), train["pfs_event"].to_numpy() == 1))
        folder = model.save(tmp / "native", design=design)
        registry.register_model("pfs", folder, "models.survival.XGBCoxSurvival", None,
                                dictionary)
        port = serving.free_port()
        settings = ServingSettings(model_uri="models:/net-pfs@challenger",
                                   required=("therapy", "age_at_index"),
                                   max_body_bytes=200_000, max_rows=100)
        proc = serving.start_server("", port, log_file=tmp / "server.log", settings=settings)
        try:
            serving.wait_ready(f"http://127.0.0.1:{port}/ping", proc, timeout_s=90)
            yield f"http://127.0.0.1:{port}", proc, _cohort(6, 9)[INPUTS]
        finally:
            serving.stop_server(proc)


def _good_answers(client: Client, rows) -> list[str]:
    out = []
    for row in rows.to_dict(orient="records"):
        status, text = client.post(json.dumps({"dataframe_records": [row]}).encode())
        assert status == 200, text
        out.append(text)
    return out


def test_generated_bad_requests_never_200_never_500(server):
    base, proc, good_rows = server
    client = Client(f"{base}/invocations")
    status, text = client.get("/model")
    assert status == 200
    description = json.loads(text)
    slope = next(f for f in description["inputs"] if f["name"] == "cga_log_slope_per_month")
    assert slope["range"] == [-1e6, 1e6]  # the open range closed for requests
    before = _good_answers(client, good_rows)

    gen = Generator(description, good_rows.iloc[0].to_dict(), seed=16)
    found, kinds = [], Counter()
    cases = [*gen.cases(N_BAD), gen.oversized(), gen.oversized()]
    for i, case in enumerate(cases):
        status, text = client.post(case.body, case.content_type)
        kinds[case.kind] += 1
        found += problems(case, status, text)
        if i % 50 == 0:
            assert client.get("/ping")[0] == 200, f"server down after case {i} ({case.kind})"
            assert proc.poll() is None
    assert not found, f"{len(found)} bad answers, e.g. {found[:5]}"
    assert len(kinds) >= 21
    assert proc.poll() is None
    assert _good_answers(client, good_rows) == before


def test_misspelt_field_named_with_nearest_and_answer_is_complete(server):
    base, _, good_rows = server
    client = Client(f"{base}/invocations")
    row = good_rows.iloc[0].to_dict()
    row["Ki67_percent"] = row.pop("ki67_percent")
    status, text = client.post(json.dumps({"dataframe_records": [row]}).encode())
    answer = json.loads(text)
    assert status == 400
    assert answer["field"] == "Ki67_percent"
    assert "did you mean 'ki67_percent'?" in answer["message"]

    sparse = {"therapy": "ssa", "age_at_index": 61.0}
    status, text = client.post(json.dumps({"dataframe_records": [sparse]}).encode())
    answer = json.loads(text)
    assert status == 200, text
    assert sorted(answer["imputed_inputs"][0]) == sorted(set(INPUTS) - set(sparse))
    assert "6 of 8 inputs are missing" in answer["warnings"][0][0]
    assert answer["model"]["version"] == "1"


@pytest.mark.parametrize(("body", "words"), [
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 6 levels"),
    (b'{"dataframe_records": [{"therapy": "ssa", "age_at_index": NaN}]}', "NaN is not a number"),
    (b'{"dataframe_records": [{"therapy": "ssa", "age_at_index": 1e999}]}',
     "field 'age_at_index': must be a finite number"),
])
def test_body_level_refusals(server, body, words):
    base, _, _ = server
    status, text = Client(f"{base}/invocations").post(body)
    assert status == 400
    assert words in json.loads(text)["message"]


def test_body_over_the_limit_is_413_and_the_server_stays_up(server):
    base, proc, good_rows = server
    client = Client(f"{base}/invocations")
    row = good_rows.iloc[0].to_dict()
    status, text = client.post(json.dumps({"dataframe_records": [row] * 2000}).encode())
    assert status == 413
    assert "larger than 200000 bytes" in json.loads(text)["message"]
    assert client.post(json.dumps({"dataframe_records": [row]}).encode())[0] == 200
    assert proc.poll() is None


def test_clinical_units_score_like_the_engineered_features(server):
    base, _, good_rows = server
    client = Client(f"{base}/invocations")
    row = good_rows.iloc[1].to_dict()
    status, engineered = client.post(json.dumps({"dataframe_records": [row]}).encode())
    assert status == 200, engineered
    raw = {k: v for k, v in row.items() if k not in ("cga_log10_uln", "alp_x_uln")}
    raw["cga_ng_ml"] = 10 ** row["cga_log10_uln"] * 50.0  # an assay with ULN 50 ng/mL
    raw["cga_uln_ng_ml"] = 50.0
    raw["alp"] = row["alp_x_uln"] * 120.0  # U/L; no ULN given: the training one
    status, text = client.post(json.dumps({"dataframe_records": [raw]}).encode())
    assert status == 200, text
    answer, expected = json.loads(text), json.loads(engineered)
    assert answer["converted_inputs"] == {"cga_log10_uln": "cga_ng_ml", "alp_x_uln": "alp"}
    for key, value in expected["predictions"][0].items():
        assert answer["predictions"][0][key] == pytest.approx(value, rel=1e-9)
    names = {f["name"]: f for f in json.loads(client.get("/model")[1])["inputs"]}
    assert names["cga_ng_ml"]["converts_to"] == "cga_log10_uln"
    assert names["alp_uln_u_l"]["unit"] == "U/L"
