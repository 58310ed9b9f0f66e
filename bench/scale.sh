#!/usr/bin/env bash
# ALS at the size of the full Taobao UserBehavior log: a generated log of 100M events
# (1M users, 4M item ids; the same file as bench/pipeline.sh 100000000), items kept when
# at least MIN_USERS distinct users touched them (iterative k-core), then ALS (64 factors,
# 15 iterations), top-50 for every test user, and the evaluation — one `clickrec run`.
#
#   bench/scale.sh [MIN_USERS]      # default 50
#
# Appends stage times and peak RSS (from manifest.json and train.json) to
# bench/results/scale.md. Run directory and log in $BENCH_DATA (default bench/.data).
set -euo pipefail
cd "$(dirname "$0")/.."
min_users=${1:-50}
data=${BENCH_DATA:-$PWD/bench/.data}
mkdir -p "$data" bench/results
bin=$(bench/clickrec.sh)
export RAYON_NUM_THREADS=2
input="$data/taobao-100000000.csv"
[ -f "$input" ] || "$bin" generate --users 1000000 --items 4000000 --events 100000000 --seed 1 --out "$input"
run="$data/run-scale-kcore$min_users"
pipeline="$data/scale-kcore$min_users.toml"
cat > "$pipeline" <<TOML
[run]
out = "$run"
seed = 1

[input]
path = "$input"
format = "taobao"

[prep.kcore]
min_users_per_item = $min_users

[models.als]
factors = 64
iterations = 15

[train]
record_loss = false

[recommend]
n = 50
users = "test"

[evaluate]
ks = [20, 50]
bootstrap_samples = 200
TOML
/usr/bin/time -f "clickrec run: wall %e s, peak RSS %M KiB" "$bin" run "$pipeline" --force
python3 - "$run" "$min_users" "$(git rev-parse --short HEAD)" >> bench/results/scale.md <<'PY'
import json, os, sys
run, min_users, commit = sys.argv[1:4]
load = lambda name: json.load(open(os.path.join(run, name)))
stages = load("manifest.json")["stages"]
split, matrix, train, metrics = load("split.json"), load("matrix.json"), load("train.json"), load("metrics.json")
gib = lambda b: f"{b / 2**30:.2f} GiB"
# The k-core is learned on train at the split (test events of removed users/items dropped).
kcore = next((s for s in split["test"]["filters"] if s["step"] == "kcore"), None)
filtered = (f"train rows {kcore['rows_in']:,} → {kcore['rows_out']:,}, items {kcore['items_in']:,} → "
            f"{kcore['items_out']:,}, users {kcore['users_in']:,} → {kcore['users_out']:,}" if kcore else "no k-core step")
print(f"\n## commit {commit}, {os.cpu_count()} cores\n")
print(f"Command: `bench/scale.sh {min_users}`. Log: 100,000,000 generated events (seed 1); k-core "
      f"min_users_per_item = {min_users}: {filtered}. "
      f"Train matrix {matrix['users']:,} × {matrix['items']:,}, {matrix['nonzeros']:,} non-zeros; "
      f"{metrics['test_set']['test_users']:,} test users.\n")
print("| stage | wall s | peak RSS |")
print("|---|---:|---:|")
for name in ["ingest", "prep", "split", "matrix", "train", "recommend", "evaluate"]:
    s = stages[name]
    print(f"| {name} | {s['seconds']:.1f} | {gib(s['peak_rss_bytes'])} |")
als = next(m for m in train if m["model"] == "als")
at20 = next(r for r in next(v for v in next(m for m in metrics["models"] if m["name"] == "als")["variants"] if v["variant"] == "all")["at_k"] if r["k"] == 20)
print(f"\nALS fit {als['seconds']:.1f} s (peak RSS {gib(als['peak_rss_bytes'])}); Recall@20 {at20['recall']['mean']:.4f}, NDCG@20 {at20['ndcg']['mean']:.4f}.")
names = ["ingest", "prep", "split", "matrix", "train", "recommend", "evaluate"]
total = sum(stages[n]["seconds"] for n in names)
peak = max(stages[n]["peak_rss_bytes"] for n in names)
print(f"End to end (sum of the stages): {total:.1f} s = {total / 60:.1f} min; largest stage peak RSS {gib(peak)}.")
# The recommend stage against the AVX2 FMA limit: 16 f32 multiply-adds per cycle per core
# (2 FMA pipes × 8 lanes) at the clock /proc/cpuinfo reports.
mhz = max(float(l.split(":")[1]) for l in open("/proc/cpuinfo") if l.startswith("cpu MHz"))
cores = int(os.environ.get("RAYON_NUM_THREADS", os.cpu_count()))
users = metrics["test_set"]["test_users"]  # every test user gets a list (recommend.users = "test")
# Only items with train events are scored (the others cannot be recommended).
scored = split["test"]["train"]["items"]
macs = users * scored * 64
limit = macs / (cores * 16 * mhz * 1e6)
rec = stages["recommend"]["seconds"]
print(f"Recommend against the FMA limit of a full scan: {users:,} users × {scored:,} items with train events × 64 factors = {macs:.3e} "
      f"multiply-adds; at {cores} cores × 16 per cycle × {mhz:.0f} MHz the limit is {limit:.1f} s; "
      f"the stage took {rec:.1f} s = {rec / limit:.2f} × the limit (below 1 when the tiles out of reach "
      f"of every list are skipped, core::tiles).")
PY
tail -n 16 bench/results/scale.md
