#!/usr/bin/env bash
# The Spark engine against the local engine on the generated 10M-event log (100k users ×
# 50k items, seed 1: the input of bench/models.sh synthetic), stage by stage, one run each
# on the same machine:
#   local          every stage in this process
#   spark          ingest, prep, split and the matrix as Spark SQL on the local cluster of
#                  scripts/spark-cluster.sh; ALS trains here (the memory rule says it fits)
#   spark + MLlib  the same, with ALS forced onto MLlib (engine.train_memory_share = 0)
# Models: ALS, 64 factors, 15 iterations; top-50 for every test user; Recall@20.
#
#   bench/spark.sh
#
# Starts the cluster when none runs in this checkout (and stops it again at the end).
# Run directories go to $BENCH_DATA (default bench/.data); the table is appended to
# bench/results/spark.md. CLICKREC_BIN picks a built binary (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${BENCH_DATA:-$PWD/bench/.data}
mkdir -p "$data" bench/results
bin=$(bench/clickrec.sh)
export RAYON_NUM_THREADS=2

input="$data/synthetic-10m-input.csv"
[ -f "$input" ] || "$bin" generate --users 100000 --items 50000 --events 10000000 --seed 1 --out "$input"

url=""
if ! scripts/spark-cluster.sh status >/dev/null 2>&1; then
  url=$(scripts/spark-cluster.sh start | tail -n 1)
  trap 'scripts/spark-cluster.sh stop' EXIT
else
  url=$(scripts/spark-cluster.sh status | tail -n 1)
fi
[ -n "$url" ] || { echo "no Spark Connect URL (scripts/spark-cluster.sh status)"; exit 1; }

pipeline="$data/spark-bench.toml"
cat > "$pipeline" <<TOML
[run]
seed = 1

[input]
path = "$input"
format = "taobao"

[models.als]
factors = 64
iterations = 15

[train]
record_loss = false

[recommend]
n = 50
users = "test"

[evaluate]
ks = [20]
bootstrap_samples = 200
TOML

spark=(--set engine.kind=spark --set "engine.url=$url")
"$bin" run "$pipeline" --out "$data/spark-bench-local" --force
"$bin" run "$pipeline" --out "$data/spark-bench-spark" --force "${spark[@]}"
"$bin" run "$pipeline" --out "$data/spark-bench-mllib" --force "${spark[@]}" --set engine.train_memory_share=0

python3 - "$data" "$(git rev-parse --short HEAD)" >> bench/results/spark.md <<'PY'
import json, os, sys
data, commit = sys.argv[1:3]
sides = [("local", "spark-bench-local"), ("spark", "spark-bench-spark"), ("spark + MLlib ALS", "spark-bench-mllib")]
load = lambda run, name: json.load(open(os.path.join(data, run, name)))
stages = ["ingest", "prep", "split", "matrix", "train", "recommend", "evaluate"]
print(f"\n## commit {commit}, {os.cpu_count()} cores\n")
print("Command: `bench/spark.sh`. Log: 10,000,000 generated events (100k users × 50k items, seed 1); "
      "the Spark sides on scripts/spark-cluster.sh's local cluster (master, 2 workers, Connect server, "
      "spark.cores.max = 2) on the same machine. ALS 64 factors, 15 iterations; top-50 for every test user.\n")
print("| side | " + " | ".join(f"{s} s" for s in stages) + " | total s | matrix non-zeros | Recall@20 |")
print("|---|" + "---:|" * (len(stages) + 2) + "---|")
for label, run in sides:
    m = load(run, "manifest.json")["stages"]
    matrix, metrics = load(run, "matrix.json"), load(run, "metrics.json")
    als = next(x for x in metrics["models"] if x["name"] == "als")
    at20 = next(r for r in next(v for v in als["variants"] if v["variant"] == "all")["at_k"] if r["k"] == 20)
    secs = [m[s]["seconds"] for s in stages]
    print(f"| {label} | " + " | ".join(f"{s:.1f}" for s in secs) + f" | {sum(secs):.1f} | "
          f"{matrix['nonzeros']:,} | {at20['recall']['mean']:.4f} [{at20['recall']['ci_low']:.4f}, {at20['recall']['ci_high']:.4f}] |")
PY
tail -n 8 bench/results/spark.md
