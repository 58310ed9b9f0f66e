#!/usr/bin/env bash
# Session models on session-rec's YOOCHOOSE 100k tuning pair: fit every session model on
# train_tr, next-item protocol on the train_valid sessions (session-rec's protocol:
# reveal each session's clicks in order, predict the next after each prefix, items of the
# prefix allowed). Prints HitRate@20 / MRR@20 over predictions, fit and evaluation
# seconds and p50/p90 latency per prediction, and appends them to
# bench/results/sessions.md.
#
#   bench/sessions.sh
#
# It runs the crates/eval example next_item_tsv (the same models and evaluator as the
# pipeline's evaluate stage, without a run directory). Yardstick: session-rec (Python) is
# not on PyPI (`pip download --no-deps session-rec`: no matching distribution), so it is
# not run here; its V-SKNN takes about 85 s for 10k predictions on a 2-core machine of
# this kind (DESIGN.md).
set -euo pipefail
cd "$(dirname "$0")/.."

pair=../shared/data/yoochoose-rsc15-100k-tuning
train=$pair/yoochoose-clicks-100k_train_tr.txt
test=$pair/yoochoose-clicks-100k_train_valid.txt
[ -f "$train" ] || { echo "skipped: $pair is absent"; exit 0; }
mkdir -p bench/results
# The dev profile: clickrec-session, -eval, -core and every dependency are built at
# opt-level 3 there (Cargo.toml).
cargo build -p clickrec-eval --example next_item_tsv
bin="${CARGO_TARGET_DIR:-target}/debug/examples/next_item_tsv"
export RAYON_NUM_THREADS=2

commit=$(git rev-parse --short HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || commit="$commit with uncommitted changes"
started=$(date +%s.%N)
out=$("$bin" "$train" "$test")
wall=$(echo "$(date +%s.%N) - $started" | bc)
{
  echo
  echo "## YOOCHOOSE 100k tuning pair: commit $commit, $(nproc) cores, RAYON_NUM_THREADS=2"
  echo
  echo "Command: \`bench/sessions.sh\` (\`next_item_tsv $train $test\`), all eight models with their defaults, $wall s wall in all (reading the files, 8 fits, 8 next-item passes)."
  echo "$out" | head -n 1
  echo
  echo "| model | HitRate@20 | MRR@20 | fit s | eval s | p50 ms | p90 ms |"
  echo "|---|---|---|---|---|---|---|"
  echo "$out" | tail -n +2 | awk '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $3, $5, $7, $10, $13, $16}'
} >> bench/results/sessions.md
tail -n 16 bench/results/sessions.md
