#!/usr/bin/env bash
# Pipeline benchmark: prep + split + matrix (ingested log → train CSR) on generated
# Taobao-format logs, with the default pipeline settings (exact dedup, 30-min sessions,
# last-session split, weights pv 1 / fav 2 / cart 3 / buy 4). Wall time and peak RSS per
# stage come from the run's manifest.json.
#
#   bench/pipeline.sh                 # 10M and 100M events
#   bench/pipeline.sh 10000000
#
# Logs are generated into $BENCH_DATA (default bench/.data) as bench/ingest.sh
# does, and reused. Results are appended to bench/results/pipeline.md.
set -euo pipefail
cd "$(dirname "$0")/.."

rows_list=("$@")
[ ${#rows_list[@]} -gt 0 ] || rows_list=(10000000 100000000)
data=${BENCH_DATA:-$PWD/bench/.data}
mkdir -p "$data" bench/results
cargo build --release -p clickrec-cli
bin="${CARGO_TARGET_DIR:-target}/release/clickrec"

{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB."
  echo "Command: \`bench/pipeline.sh ${rows_list[*]}\` (\`clickrec run\` of a pipeline with default [prep] and [split] on a generated log; times and peak RSS per stage from manifest.json)."
  echo
  echo "| events | ingest s | prep s | split s | matrix s | prep+split+matrix s | peak RSS (max of prep, split, matrix) | train rows | test users | targets | matrix nnz |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >> bench/results/pipeline.md

for rows in "${rows_list[@]}"; do
  users=$((rows / 100)); items=$((rows / 25))
  file="$data/taobao-$rows.csv"
  [ -f "$file" ] || "$bin" generate --users "$users" --items "$items" --events "$rows" --seed 1 --out "$file"
  pipeline="$data/pipeline-$rows.toml"
  printf '[run]\nout = "run-pipeline-%s"\n\n[input]\npath = "%s"\nformat = "taobao"\n' "$rows" "$file" > "$pipeline"
  rm -rf "$data/run-pipeline-$rows"
  "$bin" run "$pipeline"
  python3 - "$data/run-pipeline-$rows/manifest.json" >> bench/results/pipeline.md <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
st = m["stages"]
s = {k: st[k]["seconds"] for k in st}
rss = max(st[k]["peak_rss_bytes"] for k in ("prep", "split", "matrix"))
split = st["split"]["summary"]["test"]
matrix = st["matrix"]["summary"]
print(f"| {st['ingest']['summary']['rows_kept']:,} | {s['ingest']:.1f} | {s['prep']:.1f} | {s['split']:.1f} | {s['matrix']:.1f} | "
      f"{s['prep'] + s['split'] + s['matrix']:.1f} | {rss / 2**30:.2f} GiB | {split['train']['rows']:,} | "
      f"{split['targets']['test_users']:,} | {split['targets']['targets']:,} | {matrix['nonzeros']:,} |")
PY
  tail -1 bench/results/pipeline.md
done
