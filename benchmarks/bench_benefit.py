"""Benchmark: does the what-if choose the therapy well? Models trained on N, scored on a new cohort.

Usage: ``.venv/bin/python benchmarks/bench_benefit.py [--train 1000 5000] [--test 5000]
[--test-seed 99] [--workdir DIR]``.

For each training size the pipeline's own commands run in a scratch folder (``simulate`` with
the default params' seed, ``validate --demo-key``, ``features``, ``train``: nested CV, selection
and the final fit, exactly as ``dvc repro``); an independent cohort (``--test`` patients,
``--test-seed``) goes through the same simulate/validate/features steps and every patient is
scored under every therapy with :func:`models.counterfactual.predict_what_if`. Against the
simulator's counterfactual truth it prints the issue's table:

- average PFS and OS hazard ratio of each therapy vs SSA: the model (mean individual log-HR, from
  the complementary log-log of the predicted survival at 12 months), the truth (mean true
  log-hazard difference) and a Cox model adjusted for the true prognostic log-hazard fitted to
  the *training* cohort's observed outcomes (the practical ceiling);
- the PRRT-vs-everolimus individual PFS effect: Pearson r with the truth and SD ratio;
- the share of patients whose best predicted response therapy is the truly best, and what the
  model picks;
- the PFS regret (true log-hazard) of "treat with the best predicted eligible therapy" and of the
  fixed rule "PRRT if eligible, else everolimus", each against the oracle.
Timings per step are printed too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.pseudonym import pseudonymise  # noqa: E402
from models.counterfactual import predict_what_if  # noqa: E402
from models.evaluation.benefit import effect_agreement, therapy_cox  # noqa: E402
from models.evaluation.benefit_summary import what_if_matrix  # noqa: E402
from models.survival import make_surv  # noqa: E402
from pipeline.secrets import DEMO_KEY  # noqa: E402
from pipeline.stages.explain import load_models  # noqa: E402

THERAPIES = ["prrt_lu177", "everolimus", "sunitinib", "ssa", "chemotherapy"]
HORIZON = 12.0


def _cli(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd}/mlflow.db"}
    subprocess.run([str(Path(sys.executable).parent / "netoutcomes"), *args], cwd=cwd, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def cohort(root: Path, name: str, n: int, seed: int) -> tuple[Path, dict[str, float]]:
    """Simulate, validate and build features of one cohort; return the feature file, timings."""
    d = root / name
    times = {"simulate": _cli("simulate", "--n-patients", str(n), "--seed", str(seed), "--out",
                              str(d / "raw"), "--params", str(ROOT / "params.yaml"), cwd=root)}
    times["validate"] = _cli("validate", "--raw", str(d / "raw"), "--out", str(d / "validated"),
                             "--demo-key", cwd=root)
    times["features"] = _cli("features", "--validated", str(d / "validated"), "--out",
                             str(d / "features" / "cohort.parquet"), "--params",
                             str(ROOT / "params.yaml"), cwd=root)
    return d / "features" / "cohort.parquet", times


def truth_of(root: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counterfactual (patient x therapy) and factual truth, keyed by pseudonym."""
    cf = pd.read_csv(root / name / "truth" / "counterfactual.csv")
    tr = pd.read_csv(root / name / "truth" / "truth.csv")
    for frame in (cf, tr):
        frame["patient_id"] = pseudonymise(frame["patient_id"].astype(str), DEMO_KEY)
    return cf, tr


def _cll(s: pd.DataFrame) -> pd.DataFrame:
    return np.log(-np.log(s.clip(1e-9, 1 - 1e-9)))


def score(models_dir: Path, test_file: Path, cf: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Predicted and true matrices (row x therapy) of the test cohort."""
    test = pd.read_parquet(test_file).reset_index(drop=True)
    models = load_models(models_dir)
    out = {}
    for name, em in models.items():  # loop over endpoints
        wi = predict_what_if(em.model, em.design, test, THERAPIES, horizons=[HORIZON])
        n = len(test)
        out[f"{name}_pred"] = (what_if_matrix(wi, "response_prob", n, THERAPIES)
                               if em.kind == "binary"
                               else _cll(what_if_matrix(wi, f"survival_{HORIZON:g}", n, THERAPIES)))
        out["eligible"] = what_if_matrix(wi, "eligible", n, THERAPIES).astype(bool)
    for name, col in (("response", "p_response"), ("pfs", "lp_pfs"), ("os", "lp_os")):
        wide = cf.pivot_table(index="patient_id", columns="therapy", values=col)
        out[f"{name}_true"] = wide.reindex(index=test["patient_id"], columns=THERAPIES
                                           ).reset_index(drop=True)
    return out


def average_hrs(m: dict[str, pd.DataFrame], endpoint: str) -> dict[str, tuple[float, float]]:
    """Therapy -> (model, truth) average HR vs SSA over patients eligible for both."""
    out = {}
    for t in THERAPIES:  # loop over therapies
        if t == "ssa":
            continue
        ok = m["eligible"][t] & m["eligible"]["ssa"]
        model = np.exp(np.nanmean((m[f"{endpoint}_pred"][t] - m[f"{endpoint}_pred"]["ssa"])[ok]))
        true = np.exp(np.nanmean((m[f"{endpoint}_true"][t] - m[f"{endpoint}_true"]["ssa"])[ok]))
        out[t] = (float(model), float(true))
    return out


def adjusted_cox(train_file: Path, tr: pd.DataFrame, endpoint: str) -> dict[str, float]:
    """HR vs SSA from a Cox of the training outcomes on therapy + true prognostic log-hazard."""
    cohort_ = pd.read_parquet(train_file)
    t_col, e_col = f"{endpoint}_months", f"{endpoint}_event"
    frame = cohort_.dropna(subset=[t_col, e_col])
    frame = frame[frame[t_col] > 0]
    prog = frame["patient_id"].map(tr.drop_duplicates("patient_id").set_index("patient_id")[
        f"lp_{endpoint}_prognostic"])
    ok = prog.notna().to_numpy()
    y = make_surv(frame[t_col].to_numpy(float)[ok], frame[e_col].to_numpy(bool)[ok])
    fit = therapy_cox(y, frame["therapy"].astype(str).to_numpy()[ok], "ssa",
                      adjust=prog.to_numpy(float)[ok])
    return {t: v["hr"] for t, v in fit.items()}


def regret(m: dict[str, pd.DataFrame]) -> dict[str, float]:
    """PFS regret (true log-hazard) of the model's choice and of the fixed rule vs the oracle."""
    elig = m["eligible"].to_numpy()
    true = m["pfs_true"].to_numpy()
    pred = m["pfs_pred"].to_numpy()
    oracle = np.nanmin(np.where(elig, true, np.inf), axis=1)
    pick = np.nanargmin(np.where(elig, pred, np.inf), axis=1)
    model = true[np.arange(len(true)), pick]
    rule = np.where(elig[:, THERAPIES.index("prrt_lu177")], true[:, THERAPIES.index("prrt_lu177")],
                    true[:, THERAPIES.index("everolimus")])
    return {"model": float(np.mean(model - oracle)), "prrt_else_everolimus":
            float(np.mean(rule - oracle))}


def response_choice(m: dict[str, pd.DataFrame]) -> tuple[float, dict[str, float], dict]:
    elig = m["eligible"].to_numpy()
    pred = np.where(elig, m["response_pred"].to_numpy(), -np.inf)
    true = np.where(elig, m["response_true"].to_numpy(), -np.inf)
    pick, best = pred.argmax(axis=1), true.argmax(axis=1)
    share = {t: float(np.mean(pick == i)) for i, t in enumerate(THERAPIES)}
    truly = {t: float(np.mean(best == i)) for i, t in enumerate(THERAPIES)}
    return float(np.mean(pick == best)), share, truly


def report(n: int, m: dict, adj: dict, secs: dict) -> None:
    print(f"\n=== models trained on {n} patients (test cohort: {len(m['eligible'])} patients) ===")
    print("timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in secs.items()))
    for ep in ("pfs", "os"):
        avg = average_hrs(m, ep)
        print(f"average {ep.upper()} HR vs SSA (model / truth / true-risk-adjusted Cox on the "
              "training cohort):")
        for t, (model, true) in avg.items():
            print(f"  {t:13s} {model:5.2f} / {true:5.2f} / {adj[ep].get(t, np.nan):5.2f}")
    ok = m["eligible"]["prrt_lu177"] & m["eligible"]["everolimus"]
    eff_p = (m["pfs_pred"]["prrt_lu177"] - m["pfs_pred"]["everolimus"])[ok]
    eff_t = (m["pfs_true"]["prrt_lu177"] - m["pfs_true"]["everolimus"])[ok]
    agree = effect_agreement(eff_p.to_numpy(), eff_t.to_numpy())
    print(f"PRRT vs everolimus individual PFS log-HR: Pearson r {agree['pearson_r']:.2f}, "
          f"SD {100 * agree['sd_ratio']:.0f}% of the true SD, RMSE {agree['rmse']:.2f}")
    right, share, truly = response_choice(m)
    top = max(share, key=share.get)
    print(f"best predicted response therapy = truly best: {100 * right:.0f}% (model picks {top} "
          f"for {100 * share[top]:.0f}%; truly best: "
          + ", ".join(f"{t} {100 * v:.0f}%" for t, v in truly.items() if v > 0) + ")")
    r = regret(m)
    print(f"PFS regret vs oracle (true log-hazard): model {r['model']:.3f}; "
          f"'PRRT if eligible, else everolimus' {r['prrt_else_everolimus']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--test", type=int, default=5000)
    parser.add_argument("--test-seed", type=int, default=99)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_benefit_"))
    root.mkdir(parents=True, exist_ok=True)
    test_file, test_secs = cohort(root, "test", args.test, args.test_seed)
    cf, _ = truth_of(root, "test")
    print(f"test cohort ready in {sum(test_secs.values()):.0f} s ({root})")
    for n in args.train:  # loop over training sizes
        name = f"train_{n}"
        train_file, secs = cohort(root, name, n, args.seed)
        secs["train"] = _cli("train", "--features", str(train_file), "--out",
                             str(root / name / "models"), "--params", str(ROOT / "params.yaml"),
                             cwd=root)
        _, tr = truth_of(root, name)
        adj = {ep: adjusted_cox(train_file, tr, ep) for ep in ("pfs", "os")}
        report(n, score(root / name / "models", test_file, cf), adj, secs)


if __name__ == "__main__":
    main()
