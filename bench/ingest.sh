#!/usr/bin/env bash
# Ingestion benchmark: rows/s and peak RSS of `clickrec ingest` on generated
# Taobao-format logs, against the in-memory size of the kept columns
# (user, item, category: u32; behaviour: u8; timestamp: i64 = 21 bytes a row).
#
#   bench/ingest.sh                 # 10M and 100M rows
#   bench/ingest.sh 10000000        # just 10M
#
# Generated logs go to $BENCH_DATA (default bench/.data; 100M rows = 3.5 GB) and
# are reused across runs. Results are appended to bench/results/ingest.md.
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
  echo "Command: \`bench/ingest.sh ${rows_list[*]}\` (each row: \`clickrec generate\` then \`/usr/bin/time clickrec ingest --input FILE --out RUN_DIR --json\`)."
  echo
  echo "| rows | users | items | file | generate s | ingest s | rows/s | peak RSS | kept columns | RSS / columns |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >> bench/results/ingest.md

for rows in "${rows_list[@]}"; do
  # Taobao's proportions: ~100 events and ~4 items per user.
  users=$((rows / 100)); items=$((rows / 25))
  file="$data/taobao-$rows.csv"
  gen_s="(reused)"
  if [ ! -f "$file" ]; then
    start=$(date +%s%N)
    "$bin" generate --users "$users" --items "$items" --events "$rows" --seed 1 --out "$file"
    gen_s=$(( ($(date +%s%N) - start) / 1000000 ))
  fi
  rm -rf "$data/run-$rows"
  /usr/bin/time -f "%e %M" -o "$data/time-$rows.txt" \
    "$bin" ingest --input "$file" --out "$data/run-$rows" --json > "$data/summary-$rows.json"
  python3 - "$rows" "$file" "$data/time-$rows.txt" "$data/summary-$rows.json" "$gen_s" >> bench/results/ingest.md <<'PY'
import json, os, sys
rows, path, time_file, summary_file, gen_s = sys.argv[1:]
elapsed, max_kib = open(time_file).read().split()[-2:]
elapsed, rss = float(elapsed), int(max_kib) * 1024
s = json.load(open(summary_file))
kept = s["rows_kept"] * 21
gib = lambda b: f"{b / 2**30:.2f} GiB"
gen = gen_s if gen_s == "(reused)" else f"{int(gen_s) / 1000:.1f}"
print(f"| {s['rows_read']:,} | {s['users']:,} | {s['items']:,} | {gib(os.path.getsize(path))} | {gen} | {elapsed:.1f} | "
      f"{s['rows_read'] / elapsed / 1e6:.2f} M | {gib(rss)} | {gib(kept)} | {rss / kept:.2f} |")
PY
  tail -1 bench/results/ingest.md
done
