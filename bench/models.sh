#!/usr/bin/env bash
# Models side by side with Python implicit 0.7.3: same run directory (same split, same
# train matrix), same threads (2), 64 factors, 15 iterations, top-50 for every test user,
# and both sides' lists scored by `clickrec evaluate` (same ruler).
#
#   bench/models.sh synthetic    # generated Taobao-format log, 100k users × 50k items × 10M events
#   bench/models.sh head         # ../shared/data/taobao-userbehavior-users-head
#   bench/models.sh              # both
#
# The peer's virtualenv (bench/.venv-peers, from bench/peers/requirements.txt) is created
# on first run by bench/venv.sh; PEER_PYTHON overrides it.
# BPR is also fitted for $BPR_EPOCHS epochs (default 100) on both sides, fit time only.
# Run directories go to $BENCH_DATA (default bench/.data); the table is appended
# to bench/results/models.md. Every stage is rerun (--force), so all times come from this run.
set -euo pipefail
cd "$(dirname "$0")/.."

datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(synthetic head)
data=${BENCH_DATA:-$PWD/bench/.data}
python=${PEER_PYTHON:-$(bench/venv.sh peers)}
threads=2
bpr_epochs=${BPR_EPOCHS:-100}
mkdir -p "$data" bench/results
cargo build --release -p clickrec-cli
bin="${CARGO_TARGET_DIR:-target}/release/clickrec"
export RAYON_NUM_THREADS=$threads

# Same protocol for both sides: lists of 50, seen items excluded, Recall/NDCG at 10/20/50;
# no per-iteration loss (implicit does not compute it either).
# BPR at learning rate 0.1 on both sides: at implicit's default 0.01 neither side's factors
# leave their small initial values in 15 epochs (both below popularity's recall). Negatives:
# each side's own way — implicit can only draw them in proportion to popularity; clickrec
# draws them uniformly (its default), within the item block of its parallel strata, where
# popularity-drawn negatives cost it recall (bench/results/models.md).
bpr_lr=0.1
# ALS without its final exact user solve: implicit's algorithm to the letter (the solve's
# cost and effect are measured in bench/results/serve.md).
common=(--set recommend.n=50 --set "evaluate.ks=[10, 20, 50]" --set train.record_loss=false
  --set models.bpr.learning_rate=$bpr_lr --set models.als.exact_user_solve=false)

for dataset in "${datasets[@]}"; do
  run="$data/models-$dataset"
  case "$dataset" in
    synthetic)
      args=(pipelines/synthetic-10m.toml --set "input.path=$data/synthetic-10m-input.csv") ;;
    head)
      head_csv=../shared/data/taobao-userbehavior-users-head/UserBehavior_head.csv
      [ -f "$head_csv" ] || { echo "skipped head: $head_csv is absent"; continue; }
      args=(pipelines/taobao.toml --set "input.path=$head_csv") ;;
    *) echo "unknown dataset $dataset (synthetic|head)"; exit 2 ;;
  esac
  "$bin" run "${args[@]}" "${common[@]}" --out "$run" --force
  for model in als bpr item_knn; do
    "$python" bench/peers/implicit_run.py --run "$run" --model "$model" --factors 64 --iterations 15 \
      --regularization 0.01 --alpha 1.0 --learning-rate $bpr_lr --k 100 --n 50 \
      --threads $threads --seed 42 --out "$run/peer/$model"
    cp "$run/peer/$model/recs.csv" "$run/peer/implicit_$model.csv"
  done
  recs=()
  for model in popularity item_knn als bpr; do recs+=(--recs "$run/recs/$model.parquet"); done
  for model in item_knn als bpr; do recs+=(--recs "$run/peer/implicit_$model.csv"); done
  "$bin" evaluate "${recs[@]}" --run "$run" --k 10,20,50 --exclude-seen --report-dir "$run/compare"
  # BPR at $BPR_EPOCHS epochs (default 100), fit time of both sides: in a copy of the run
  # directory (same split and matrix), so the lists above stay those of 15 iterations.
  long="$run-bpr$bpr_epochs"
  rm -rf "$long"
  cp -a "$run" "$long"
  "$bin" train "${args[@]}" "${common[@]}" --set "models.bpr.iterations=$bpr_epochs" --out "$long" --force
  "$python" bench/peers/implicit_run.py --run "$long" --model bpr --factors 64 --iterations "$bpr_epochs" \
    --regularization 0.01 --alpha 1.0 --learning-rate $bpr_lr --k 100 --n 50 \
    --threads $threads --seed 42 --out "$long/peer/bpr"
  python3 bench/models_table.py "$run" "$dataset" "bench/models.sh $dataset" "$long" "$bpr_epochs" >> bench/results/models.md
  tail -n 20 bench/results/models.md
done
