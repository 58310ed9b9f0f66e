#!/usr/bin/env bash
# Session models, in two parts.
#
# yoochoose: session-rec's YOOCHOOSE 100k tuning pair. Every session model is fitted on
#   train_tr and evaluated next-item on the train_valid sessions (session-rec's protocol:
#   reveal each session's clicks in order, predict the next after each prefix, items of
#   the prefix allowed), twice:
#   - the crates/eval example next_item_tsv (the same models and evaluator as the
#     pipeline's evaluate stage, without a run directory): HitRate@20 / MRR@20 over
#     predictions, fit and evaluation seconds, p50/p90 latency per prediction;
#   - `clickrec run pipelines/sessions-rsc15.toml` (exact dedup off, as session-rec keeps
#     same-second clicks), and the same with `--set prep.dedup.exact=true` (clickrec's
#     default), with bootstrap CIs over sessions.
#
# head, tail, timeslice: the Taobao samples in ../shared/data, session protocol (the set
#   of each user's held-out session items against the top-N lists), with seen items
#   allowed (recommend.exclude_seen=false, "repeat") and excluded (=true, "new"):
#   - pipelines/taobao.toml plus every session model: each session model and `recent`
#     against ALS and item-kNN (paired bootstrap over test users);
#   - pipelines/taobao-two-stage.toml as is (session generators) and with
#     rerank.generators set to the same list without the session models and `recent`;
#     both runs' recs/rerank.* scored by `clickrec evaluate` on the first run's test set,
#     so the two re-rankers are compared paired.
#
#   bench/sessions.sh                          # yoochoose head tail timeslice
#   bench/sessions.sh yoochoose                # the YOOCHOOSE tuning pair only
#   bench/sessions.sh head tail timeslice      # the Taobao samples only
#
# Run directories go to $BENCH_DATA (default bench/.data); the tables are appended
# to bench/results/sessions.md. Every stage is rerun (--force). CLICKREC_BIN=path/to/clickrec
# uses that binary instead of building the release one (the tables name it).
#
# Yardstick: session-rec (Python) is not on PyPI (`pip download --no-deps session-rec`: no
# matching distribution), so it is not run here; its V-SKNN takes about 85 s for 10k
# predictions on a 2-core machine of this kind (DESIGN.md).
set -euo pipefail
cd "$(dirname "$0")/.."

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(yoochoose head tail timeslice)
data=${BENCH_DATA:-$PWD/bench/.data}
mkdir -p "$data" bench/results
bin=$(bench/clickrec.sh)
export CLICKREC_BIN=$bin
export RAYON_NUM_THREADS=2

commit=$(git rev-parse --short HEAD)
# The results this script appends to are not a change to what made them.
[ -z "$(git status --porcelain --untracked-files=no -- . ':!bench/results')" ] || commit="$commit with uncommitted changes"

yoochoose() {
  local pair=../shared/data/yoochoose-rsc15-100k-tuning
  local train=$pair/yoochoose-clicks-100k_train_tr.txt
  local test=$pair/yoochoose-clicks-100k_train_valid.txt
  [ -f "$train" ] || { echo "skipped yoochoose: $pair is absent"; return; }
  # The dev profile: clickrec-session, -eval, -core and every dependency are built at
  # opt-level 3 there (Cargo.toml).
  cargo build -p clickrec-eval --example next_item_tsv
  local example="${CARGO_TARGET_DIR:-target}/debug/examples/next_item_tsv"
  local started out wall
  started=$(date +%s.%N)
  out=$("$example" "$train" "$test")
  wall=$(echo "$(date +%s.%N) - $started" | bc)
  {
    echo
    echo "## YOOCHOOSE 100k tuning pair: commit $commit, $(nproc) cores, RAYON_NUM_THREADS=2"
    echo
    echo "Command: \`bench/sessions.sh yoochoose\` (\`next_item_tsv $train $test\`), all eight models with their defaults, $wall s wall in all (reading the files, 8 fits, 8 next-item passes)."
    echo "$out" | head -n 1
    echo
    echo "| model | HitRate@20 | MRR@20 | fit s | eval s | p50 ms | p90 ms |"
    echo "|---|---|---|---|---|---|---|"
    echo "$out" | tail -n +2 | awk '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $3, $5, $7, $10, $13, $16}'
  } >> bench/results/sessions.md
  local runs=()
  for dedup in false true; do
    local run="$data/sessions-rsc15-exact-dedup-$dedup"
    "$bin" run pipelines/sessions-rsc15.toml --set "prep.dedup.exact=$dedup" --out "$run" --force \
      > "$run.log" 2>&1 || { tail -20 "$run.log"; exit 1; }
    runs+=("$run")
  done
  python3 bench/sessions_table.py next-item "bench/sessions.sh yoochoose" "${runs[@]}" >> bench/results/sessions.md
  tail -n 40 bench/results/sessions.md
}

# pipelines/taobao.toml with a table for every session model it does not already fit.
python3 - pipelines/taobao.toml "$data/sessions-taobao.toml" <<'PY'
import sys, tomllib
text = open(sys.argv[1]).read()
present = tomllib.loads(text)["models"]
for name in ["sknn", "vsknn", "stan", "vstan", "sr", "ar", "markov", "spop"]:
    if name not in present:
        text += f"\n[models.{name}]\n"
open(sys.argv[2], "w").write(text)
PY
# The two-stage pipeline's generators without the session models and `recent`.
without_sessions=$(python3 - pipelines/taobao-two-stage.toml <<'PY'
import sys, tomllib
session = {"recent", "sknn", "vsknn", "stan", "vstan", "sr", "ar", "markov", "spop"}
generators = tomllib.load(open(sys.argv[1], "rb"))["rerank"]["generators"]
kept = [g for g in generators if g not in session]
assert kept != generators, "pipelines/taobao-two-stage.toml has no session generator to leave out"
print("[" + ", ".join(f'"{g}"' for g in kept) + "]")
PY
)

taobao() {
  local dataset=$1 input
  case "$dataset" in
    head) input=../shared/data/taobao-userbehavior-users-head/UserBehavior_head.csv ;;
    tail) input=../shared/data/taobao-userbehavior-users-tail/UserBehavior_tail.csv ;;
    timeslice) input=../shared/data/taobao-userbehavior-timeslice/UserBehavior_timeslice.csv ;;
  esac
  [ -f "$input" ] || { echo "skipped $dataset: $input is absent"; return; }
  input=$(realpath "$input")
  for protocol in repeat new; do
    local exclude=false flag=()
    [ "$protocol" = new ] && { exclude=true; flag=(--exclude-seen); }
    local prefix="$data/sessions-$dataset-$protocol"
    local common=(--set "input.path=$input" --set "recommend.exclude_seen=$exclude" --set train.record_loss=false)
    "$bin" run "$data/sessions-taobao.toml" "${common[@]}" --out "$prefix-models" --force \
      > "$prefix-models.log" 2>&1 || { tail -20 "$prefix-models.log"; exit 1; }
    "$bin" run pipelines/taobao-two-stage.toml "${common[@]}" --out "$prefix-two-stage" --force \
      > "$prefix-two-stage.log" 2>&1 || { tail -20 "$prefix-two-stage.log"; exit 1; }
    "$bin" run pipelines/taobao-two-stage.toml "${common[@]}" --set "rerank.generators=$without_sessions" \
      --out "$prefix-two-stage-without" --force \
      > "$prefix-two-stage-without.log" 2>&1 || { tail -20 "$prefix-two-stage-without.log"; exit 1; }
    # Both re-rankers' lists, scored on the first run's test set: paired over its users.
    local paired="$prefix-rerank-paired"
    rm -rf "$paired" && mkdir -p "$paired"
    local with_file without_file
    with_file=$(ls "$prefix-two-stage"/recs/rerank.*)
    without_file=$(ls "$prefix-two-stage-without"/recs/rerank.*)
    cp "$with_file" "$paired/rerank_session_generators.${with_file##*.}"
    cp "$without_file" "$paired/rerank_without_session_generators.${without_file##*.}"
    "$bin" evaluate --run "$prefix-two-stage" "${flag[@]}" --report-dir "$paired" \
      --recs "$paired/rerank_session_generators.${with_file##*.}" \
      --recs "$paired/rerank_without_session_generators.${without_file##*.}" \
      > "$paired.log" 2>&1 || { tail -20 "$paired.log"; exit 1; }
    python3 bench/sessions_table.py taobao "bench/sessions.sh $dataset ($protocol: recommend.exclude_seen=$exclude)" \
      "$dataset, $protocol items" "$prefix-models" "$prefix-two-stage" "$paired" "$without_sessions" \
      >> bench/results/sessions.md
  done
  tail -n 60 bench/results/sessions.md
}

for part in "${parts[@]}"; do
  case "$part" in
    yoochoose) yoochoose ;;
    head | tail | timeslice) taobao "$part" ;;
    *) echo "unknown part $part (yoochoose|head|tail|timeslice)"; exit 2 ;;
  esac
done
