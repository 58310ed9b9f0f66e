#!/usr/bin/env bash
# The two-stage recommender (pipelines/taobao-two-stage.toml): item-kNN, ALS, popularity
# and segment-popular generate candidates, a logistic regression learned on the validation
# split re-ranks them, and the evaluator compares the re-ranked lists with every generator
# (paired bootstrap). Both protocols: seen items allowed ("repeat", the pipeline's default)
# and excluded ("new").
#
#   bench/two_stage.sh head        # ../shared/data/taobao-userbehavior-users-head
#   bench/two_stage.sh synthetic   # generated Taobao-format log, 100k users × 50k items × 10M events
#   bench/two_stage.sh             # both
#
# Run directories go to $BENCH_DATA (default bench/.data); the tables are appended
# to bench/results/two_stage.md. Every stage is rerun (--force).
set -euo pipefail
cd "$(dirname "$0")/.."

datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(head synthetic)
data=${BENCH_DATA:-$PWD/bench/.data}
mkdir -p "$data" bench/results
cargo build --release -p clickrec-cli
bin="${CARGO_TARGET_DIR:-target}/release/clickrec"
export RAYON_NUM_THREADS=2

for dataset in "${datasets[@]}"; do
  case "$dataset" in
    head)
      input=../shared/data/taobao-userbehavior-users-head/UserBehavior_head.csv
      [ -f "$input" ] || { echo "skipped head: $input is absent"; continue; } ;;
    synthetic)
      input="$data/synthetic-10m-input.csv"
      # The same log as pipelines/synthetic-10m.toml (seed 1).
      [ -f "$input" ] || "$bin" generate --users 100000 --items 50000 --events 10000000 --seed 1 --out "$input" ;;
    *) echo "unknown dataset $dataset (head|synthetic)"; exit 2 ;;
  esac
  for protocol in repeat new; do
    exclude=false
    [ "$protocol" = new ] && exclude=true
    run="$data/two-stage-$dataset-$protocol"
    command="bench/two_stage.sh $dataset ($protocol: recommend.exclude_seen=$exclude)"
    "$bin" run pipelines/taobao-two-stage.toml --set "input.path=$input" \
      --set "recommend.exclude_seen=$exclude" --set train.record_loss=false --out "$run" --force
    python3 bench/two_stage_table.py "$run" "$dataset, $protocol items" "$command" >> bench/results/two_stage.md
  done
  tail -n 40 bench/results/two_stage.md
done
