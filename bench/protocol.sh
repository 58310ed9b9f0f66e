#!/usr/bin/env bash
# Both held-out-session protocols side by side: every model of pipelines/taobao.toml
# (popularity, popularity_recent, recent, item-kNN, ALS, BPR) under
#   last_session    each user's last session is test; train holds other users' later events
#   session_cutoff  one global cutoff at the 90% quantile of session starts (the default)
# with the leakage each split measures, on the Taobao samples in ../shared/data and a
# generated 10M-event log (the log of pipelines/synthetic-10m.toml).
#
#   bench/protocol.sh                        # head tail timeslice synthetic
#   bench/protocol.sh head tail timeslice    # only the real samples
#
# Run directories and the generated log go to $BENCH_DATA (default bench/.data);
# the tables are appended to bench/results/protocol.md. Every stage is rerun (--force).
# CLICKREC_BIN=path/to/clickrec uses that binary instead of building the release one
# (the tables name it).
set -euo pipefail
cd "$(dirname "$0")/.."

datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(head tail timeslice synthetic)
data=${BENCH_DATA:-$PWD/bench/.data}
mkdir -p "$data" bench/results
bin=$(bench/clickrec.sh)
export CLICKREC_BIN=$bin
export RAYON_NUM_THREADS=2

# pipelines/taobao.toml with its split switched to last_session (the rest as is).
python3 - pipelines/taobao.toml "$data/protocol-last-session.toml" <<'PY'
import sys
text = open(sys.argv[1]).read()
cutoff = 'kind = "session_cutoff"\ntest_fraction = 0.1\n'
assert cutoff in text, "pipelines/taobao.toml no longer sets the session cutoff this script expects"
open(sys.argv[2], "w").write(text.replace(cutoff, 'kind = "last_session"\n'))
PY

for dataset in "${datasets[@]}"; do
  case "$dataset" in
    head) input=../shared/data/taobao-userbehavior-users-head/UserBehavior_head.csv ;;
    tail) input=../shared/data/taobao-userbehavior-users-tail/UserBehavior_tail.csv ;;
    timeslice) input=../shared/data/taobao-userbehavior-timeslice/UserBehavior_timeslice.csv ;;
    synthetic)
      input="$data/synthetic-10m-input.csv"
      # The same log as pipelines/synthetic-10m.toml (seed 1).
      [ -f "$input" ] || "$bin" generate --users 100000 --items 50000 --events 10000000 --seed 1 --out "$input" ;;
    *) echo "unknown dataset $dataset (head|tail|timeslice|synthetic)"; exit 2 ;;
  esac
  [ -f "$input" ] || { echo "skipped $dataset: $input is absent"; continue; }
  runs=()
  for split in last_session session_cutoff; do
    run="$data/protocol-$dataset-$split"
    pipeline=pipelines/taobao.toml
    [ "$split" = last_session ] && pipeline="$data/protocol-last-session.toml"
    "$bin" run "$pipeline" --set "input.path=$(realpath "$input")" --set train.record_loss=false \
      --out "$run" --force > "$run.log" 2>&1 || { tail -20 "$run.log"; exit 1; }
    runs+=("$run")
  done
  python3 bench/protocol_table.py "$dataset" "bench/protocol.sh $dataset" "${runs[@]}" >> bench/results/protocol.md
  tail -n 30 bench/results/protocol.md
done
