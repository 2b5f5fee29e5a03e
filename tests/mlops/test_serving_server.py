"""The scoring server (`pipeline.serving_app` under uvicorn) on a free local port: good and bad
requests, no value echoed."""

from __future__ import annotations

import json

import pytest
from mlops_helpers import DICTIONARY, simulate_cohort, store_in

from models.design import DesignMatrix
from models.survival import XGBCoxSurvival, make_surv
from pipeline import registry, serving

pytestmark = pytest.mark.slow

INPUTS = ["age_at_index", "ki67_percent", "krenning_score", "therapy"]

BAD_REQUESTS = {
    "out_of_range": ({"age_at_index": 63.25, "ki67_percent": 431.77, "krenning_score": 3,
                      "therapy": "ssa"}, "ki67_percent"),
    "not_a_number": ({"age_at_index": "sixty-three", "ki67_percent": 12.5,
                      "krenning_score": 3, "therapy": "ssa"}, "age_at_index"),
    "list_value": ({"age_at_index": 63.25, "ki67_percent": [17.31], "krenning_score": 3,
                    "therapy": "ssa"}, "ki67_percent"),
    "negative": ({"age_at_index": 63.25, "ki67_percent": 12.5, "krenning_score": -7.77,
                  "therapy": "ssa"}, "krenning_score"),
    "unknown_therapy": ({"age_at_index": 63.25, "ki67_percent": 12.5, "krenning_score": 3,
                         "therapy": "radium-223x"}, "therapy"),
    "missing_therapy": ({"age_at_index": 63.25, "ki67_percent": 12.5, "krenning_score": 3},
                        "therapy"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, empty_store_db):
    """Register a PFS model in a fresh store and serve ``@challenger``; stopped in finally."""
    tmp = tmp_path_factory.mktemp("serve")
    with store_in(tmp, empty_store_db, "serve-test"):
        train = simulate_cohort(400, 3)
        design = DesignMatrix().fit(train[INPUTS], DICTIONARY)
        model = XGBCoxSurvival(n_estimators=60).fit(
            design.transform(train[INPUTS]),
            make_surv(train["pfs_months"].to_numpy(), train["pfs_event"].to_numpy() == 1))
        folder = model.save(tmp / "native", design=design)
        registry.register_model("pfs", folder, "models.survival.XGBCoxSurvival", None,
                                DICTIONARY)
        port = serving.free_port()
        proc = serving.start_server("models:/net-pfs@challenger", port,
                                    log_file=tmp / "server.log")
        try:
            serving.wait_ready(f"http://127.0.0.1:{port}/ping", proc, timeout_s=90)
            yield f"http://127.0.0.1:{port}/invocations", tmp / "server.log"
        finally:
            serving.stop_server(proc)


def _good():
    return {"dataframe_records": [{"age_at_index": 63, "ki67_percent": 12.5,
                                   "krenning_score": 3, "therapy": "prrt_lu177"}]}


def test_good_request_returns_survival_and_risk(server):
    url, _ = server
    status, body = serving.post_json(url, _good())
    assert status == 200, body
    pred = json.loads(body)["predictions"][0]
    assert set(pred) == {"risk_score", "survival_12m", "survival_24m"}
    assert 0 < pred["survival_24m"] <= pred["survival_12m"] < 1


def test_explain_param_adds_shap_values(server):
    url, _ = server
    payload = {"dataframe_split": {"columns": INPUTS, "data": [[63.0, 12.5, 3.0, "ssa"]]},
               "params": {"explain": True}}
    status, body = serving.post_json(url, payload)
    pred = json.loads(body)["predictions"][0]
    assert status == 200
    assert "shap_therapy" in pred
    total = sum(pred[f"shap_{f}"] for f in INPUTS) + pred["shap_base"]
    assert total == pytest.approx(pred["risk_score"], abs=1e-4)


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_request_is_4xx_names_field_echoes_no_value(server, case):
    url, log_file = server
    row, field = BAD_REQUESTS[case]
    status, body = serving.post_json(url, {"dataframe_records": [row]})
    assert 400 <= status < 500, body
    message = json.loads(body)["message"]
    assert f"'{field}'" in message
    for value in row.values():
        for text in (str(value), json.dumps(value)):
            if text not in ("3", "ssa", '"ssa"'):
                assert text not in body, f"value {text!r} echoed in {body!r}"
    status, _ = serving.post_json(url, _good())
    assert status == 200, "server stopped serving after a bad request"


def test_answer_names_model_and_lists_missing_inputs(server):
    url, _ = server
    row = {"ki67_percent": 12.5, "therapy": "prrt_lu177"}
    rows = [row, _good()["dataframe_records"][0]]
    status, body = serving.post_json(url, {"dataframe_records": rows})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["model"] == {"name": "net-pfs", "version": "1", "alias": "challenger",
                               "endpoint": "pfs"}
    assert answer["imputed_inputs"] == [["age_at_index", "krenning_score"], []]
    assert len(answer["warnings"]) == 2
    assert answer["warnings"][0] == []  # 2 of 4 missing: not more than half


def test_extra_identifier_column_is_refused_not_echoed(server):
    url, _ = server
    row = {**_good()["dataframe_records"][0], "patient_name": "Jane Q. Doe"}
    status, body = serving.post_json(url, {"dataframe_records": [row]})
    assert status == 400
    assert json.loads(body)["field"] == "patient_name"
    assert "Jane" not in body


def test_misspelt_field_is_400_with_the_nearest_name(server):
    url, _ = server
    status, body = serving.post_json(url, {"dataframe_records": [
        {"therapy": "prrt_lu177", "ki67": 12.5}]})
    assert status == 400
    answer = json.loads(body)
    assert answer["field"] == "ki67"
    assert "did you mean 'ki67_percent'?" in answer["message"]


def test_malformed_json_is_not_echoed(server):
    url, _ = server
    status, body = serving.post_json(url, b'{"dataframe_records": [{"ki67_percent": 61.77,}]}')
    assert status == 400
    assert "61.77" not in body
    assert "not valid JSON" in json.loads(body)["message"]
