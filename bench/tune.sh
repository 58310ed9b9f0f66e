#!/usr/bin/env bash
# `clickrec tune` against the defaults, and against Python implicit given the same search.
#
#   bench/tune.sh quickstart  # data/sample.csv (pipelines/quickstart.toml)
#   bench/tune.sh head        # ../shared/data/taobao-userbehavior-users-head (pipelines/taobao.toml)
#   bench/tune.sh synthetic   # generated Taobao-format log, 100k users × 50k items × 10M events
#   bench/tune.sh             # all three
#
# Per dataset, on one split (the pipeline's, with split.validation = true; the test split
# is the same in every run):
# 1. default: `clickrec run` with the pipeline's model values;
# 2. tuned: `clickrec tune` (successive halving, TRIALS draws per model, metric ndcg@20 on
#    the validation split) for ALS, BPR, item-kNN, and EASE where the catalogue fits its
#    dense item × item solve (the sample's 2,000 items; not the 50,000+ of the others), then
#    best.toml on the test split;
# 3. both sides' lists scored by one `clickrec evaluate` (paired bootstrap CIs);
# 4. peer: ALS by random search — clickrec's TRIALS draws, and implicit 0.7.3 fitted on the
#    same draws on the same validation matrix (bench/peers/implicit_tune.py), each winner
#    refitted on train and scored by the same `clickrec evaluate`.
# CLICKREC_BIN picks a built binary (default: cargo build --release); PEER_PYTHON the
# peer's Python (default: bench/venv.sh peers). Run directories go to $BENCH_DATA
# (default bench/.data); the tables are appended to bench/results/tune.md.
set -euo pipefail
cd "$(dirname "$0")/.."

datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(quickstart head synthetic)
data=${BENCH_DATA:-$PWD/bench/.data}
trials=${TRIALS:-9}
mkdir -p "$data" bench/results
bin=$(bench/clickrec.sh)
python=${PEER_PYTHON:-$(bench/venv.sh peers)}
export RAYON_NUM_THREADS=2

spaces=(
  --set 'tune.als.factors=[32, 64, 128]'
  --set 'tune.als.regularization={ log_uniform = [0.001, 1.0] }'
  --set 'tune.als.alpha={ log_uniform = [0.1, 50.0] }'
  --set 'tune.als.iterations={ int_uniform = [5, 30] }'
  --set 'tune.bpr.learning_rate={ log_uniform = [0.005, 0.2] }'
  --set 'tune.bpr.regularization={ log_uniform = [0.0001, 0.1] }'
  --set 'tune.bpr.iterations={ int_uniform = [10, 100] }'
  --set 'tune.item_knn.k={ int_uniform = [10, 500] }'
  --set 'tune.item_knn.weighting=["none", "tfidf", "bm25"]'
)

for dataset in "${datasets[@]}"; do
  models=(als bpr item_knn)
  case "$dataset" in
    quickstart)
      models+=(ease)
      pipeline=(pipelines/quickstart.toml) ;;
    head)
      input=../shared/data/taobao-userbehavior-users-head/UserBehavior_head.csv
      [ -f "$input" ] || { echo "skipped head: $input is absent"; continue; }
      pipeline=(pipelines/taobao.toml --set "input.path=$input") ;;
    synthetic)
      input="$data/synthetic-10m-input.csv"
      [ -f "$input" ] || "$bin" generate --users 100000 --items 50000 --events 10000000 --seed 1 --out "$input"
      pipeline=(pipelines/synthetic-10m.toml --set "input.path=$input") ;;
    *) echo "unknown dataset $dataset (quickstart|head|synthetic)"; exit 2 ;;
  esac
  common=(--set split.validation=true --set train.record_loss=false)
  tune_spaces=("${spaces[@]}")
  if [[ " ${models[*]} " == *" ease "* ]]; then
    common+=(--set 'models.ease={}')
    tune_spaces+=(--set 'tune.ease.lambda={ log_uniform = [1.0, 5000.0] }')
  fi
  default="$data/tune-$dataset-default"
  tuned="$data/tune-$dataset-tuned"
  random="$data/tune-$dataset-random"
  "$bin" run "${pipeline[@]}" "${common[@]}" --out "$default" --force
  start=$(date +%s%N)
  "$bin" tune "${pipeline[@]}" "${common[@]}" "${tune_spaces[@]}" --out "$tuned" \
    --set tune.strategy=halving --set "tune.trials=$trials" --set tune.seed=1 --force
  tune_seconds=$(( ($(date +%s%N) - start) / 1000000 ))e-3
  # ALS by random search, for the peer: the same draws on both sides.
  "$bin" tune "${pipeline[@]}" "${common[@]}" "${spaces[@]:0:8}" --out "$random" \
    --set tune.strategy=random --set "tune.trials=$trials" --set tune.seed=1 --force
  exclude=$(grep -q '^exclude_seen = false' "${pipeline[0]}" && echo "" || echo --exclude-seen)
  "$python" bench/peers/implicit_tune.py --run "$random" --k 20 --n 100 $exclude --threads 2 \
    --out "$random/peer"
  compare="$data/tune-$dataset-compare"
  rm -rf "$compare"; mkdir -p "$compare"
  recs=()
  for m in "${models[@]}"; do
    cp "$default/recs/$m.parquet" "$compare/${m}_default.parquet"
    cp "$tuned/recs/$m.parquet" "$compare/${m}_tuned.parquet"
    recs+=(--recs "$compare/${m}_default.parquet" --recs "$compare/${m}_tuned.parquet")
  done
  cp "$random/recs/als.parquet" "$compare/als_random.parquet"
  cp "$random/peer/recs.csv" "$compare/implicit_als_random.csv"
  recs+=(--recs "$compare/als_random.parquet" --recs "$compare/implicit_als_random.csv")
  "$bin" evaluate "${recs[@]}" --run "$default" --k 10,20,50 $exclude --report-dir "$compare"
  python3 bench/tune_table.py "$dataset" "bench/tune.sh $dataset" "$default" "$tuned" "$random" \
    "$compare" "$tune_seconds" "${models[@]}" >> bench/results/tune.md
  tail -n 30 bench/results/tune.md
done
