#!/usr/bin/env bash
# Run the whole pipeline with DVC on the embedded synthetic default and say where the results are.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "!! not a git checkout: DVC needs git. Run 'git init' here first." >&2
  exit 1
fi
# byte-compile the project once (skips what is up to date): every stage is a fresh process, and
# with PYTHONDONTWRITEBYTECODE set each would otherwise recompile the sources it imports
python -m compileall -q -j 0 pipeline features models > /dev/null || true
start=$(date +%s)
dvc repro
end=$(date +%s)
echo
echo "Pipeline finished in $((end - start)) s. Results:"
for p in data/raw data/validated/validation_report.json data/quarantine data/features/cohort.parquet \
         data/features/dictionary.json data/models reports/metrics.json reports/plots reports/cohort.html \
         reports/patients data/registry/registered.json data/holdout; do
  [ -e "$p" ] && echo "  $p"
done
[ -e reports/metrics.json ] && python - <<'PY'
import json
m = json.load(open("reports/metrics.json"))
print("\nValidated performance (mean and 95% interval across outer folds):")
for ep, b in m.items():
    key = "auc" if ep == "response" else "harrell_c"
    v = b["metrics"][key]
    line = f"  {ep:9s} {b['selected_model']:14s} {key} {v['mean']:.3f} ({v['lo']:.3f}-{v['hi']:.3f})"
    if "oracle" in b:
        line += f"   oracle ratio {b['oracle']['ratio']['mean']:.3f}"
    print(line)
PY
[ -e mlflow.db ] && echo "  MLflow runs: mlflow ui --backend-store-uri sqlite:///mlflow.db  (then open http://127.0.0.1:5000)"
exit 0
