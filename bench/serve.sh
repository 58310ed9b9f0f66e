#!/usr/bin/env bash
# `clickrec serve`: parity (online equals offline) and speed, on three runs.
#
# head:      pipelines/taobao.toml on the Taobao head sample (55k items), plus V-STAN and
#            SR and the next-item protocol.
# yoochoose: pipelines/sessions-rsc15.toml on session-rec's YOOCHOOSE tuning pair, plus
#            ALS (for the fold-in check). Serenade (bench/peers/serenade.sh) beside it on
#            the same train file and the same replayed sessions, when it builds here.
# synthetic: pipelines/synthetic-10m.toml on the generated 10M-event log (100k users ×
#            50k items), plus V-STAN and the next-item protocol.
#
# For each run: `clickrec serve RUN --check-parity` (every recs-file user's list, the
# replayed next-item sessions, ALS fold-in of every train user), then the server on
# loopback driven by crates/serve/examples/load.rs (open loop at a fixed rate, a fixed
# request count, latency from when each request was due): session clicks (post the
# click, ask for the list), user lists from ALS, user lists after posting an event
# (fold-in), similar items; the server's peak RSS; and the in-process latency of a
# session prediction. Server and load generator share the machine's cores.
#
#   bench/serve.sh                      # head yoochoose synthetic
#   bench/serve.sh head yoochoose       # only these
#
# Run directories go to $BENCH_DATA (default bench/.data); the tables are appended to
# bench/results/serve.md. CLICKREC_BIN=path/to/clickrec uses that binary.
set -euo pipefail
cd "$(dirname "$0")/.."

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(head yoochoose synthetic)
data=${BENCH_DATA:-$PWD/bench/.data}
mkdir -p "$data" bench/results
bin=$(bench/clickrec.sh)
cargo build --release -p clickrec-serve --example load >&2
target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
load="$target/release/examples/load"
results=bench/results/serve.md
port=18080

commit=$(git rev-parse --short HEAD)
# The results this script appends to are not a change to what made them.
[ -z "$(git status --porcelain --untracked-files=no -- . ':!bench/results')" ] || commit="$commit with uncommitted changes"

header() {
  echo
  echo "| request | model | requests | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | not 200 |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
}

# run_pipeline RUN PIPELINE --set…: the run, every stage rerun.
run_pipeline() {
  local run=$1
  shift
  "$bin" run "$@" --out "$run" --force > "$run.log" 2>&1 || { tail -20 "$run.log"; exit 1; }
}

# wait_for_line LOG PATTERN PID: until the server prints PATTERN (or stops).
wait_for_line() {
  for _ in $(seq 600); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { cat "$1"; exit 1; }
    sleep 0.2
  done
  echo "no '$2' in $1 after 120 s"; exit 1
}

# rss PID: peak and current resident memory, from /proc.
rss() {
  awk '/VmHWM|VmRSS/ {printf "%s %.0f MiB  ", $1, $2 / 1024}' "/proc/$1/status"
}

# measure RUN LABEL SESSION_MODEL USER_MODEL SIMILAR_MODEL: parity, then the load.
measure() {
  local run=$1 label=$2 session_model=$3 user_model=$4 similar_model=$5
  {
    echo
    echo "### $label: parity"
    echo
    echo "Command: \`clickrec serve $(basename "$run") --check-parity --check-users 5000\`."
    echo
  } >> "$results"
  "$bin" serve "$run" --check-parity --check-users 5000 >> "$results"
  local log="$run.serve.log"
  "$bin" serve "$run" --addr "127.0.0.1:$port" --unknown-items skip > "$log" 2>&1 &
  local pid=$!
  local started
  started=$(date +%s.%N)
  wait_for_line "$log" "serving" "$pid"
  local ready
  ready=$(echo "$(date +%s.%N) - $started" | bc)
  local rss_loaded
  rss_loaded=$(rss "$pid")
  {
    echo
    echo "### $label: speed"
    echo
    echo "Server: \`clickrec serve $(basename "$run") --addr 127.0.0.1:$port --unknown-items skip\` (2 worker threads), ready ${ready} s after start; $rss_loaded after loading. Load: \`load $(basename "$run") WORKLOAD --rate R --requests N --model M\` (one thread, 32 requests in flight at most)."
    header
  } >> "$results"
  local addr=(--addr "127.0.0.1:$port")
  # A first pass to warm up (not recorded).
  "$load" "$run" sessions "${addr[@]}" --rate 500 --requests 2000 --model "$session_model" > /dev/null
  for rate in 1000 2000; do
    "$load" "$run" sessions "${addr[@]}" --rate "$rate" --requests 20000 --model "$session_model" >> "$results"
  done
  "$load" "$run" users "${addr[@]}" --rate 500 --requests 5000 --model "$user_model" >> "$results"
  "$load" "$run" users-events "${addr[@]}" --rate 500 --requests 5000 --model "$user_model" >> "$results"
  [ -z "$similar_model" ] || "$load" "$run" similar "${addr[@]}" --rate 500 --requests 5000 --model "$similar_model" >> "$results"
  "$load" "$run" in-process --model "$session_model" >> "$results"
  {
    echo
    echo "Server memory after the load: $(rss "$pid")."
  } >> "$results"
  kill -TERM "$pid"
  wait "$pid" || true
}

{
  echo
  echo "## commit $commit, $(nproc) cores, $(date -u +%Y-%m-%d)"
} >> "$results"

# als_exact_cost LABEL INPUT SHOWN: ALS (64 factors, 15 sweeps) with and without the final
# exact user solve, on the same input: fit seconds and Recall@20 (all test users).
als_exact_cost() {
  local label=$1 input=$2 shown=$3 pipeline="$data/serve-als-only.toml"
  cat > "$pipeline" <<TOML
[run]
seed = 42
[input]
path = "$input"
format = "taobao"
on_bad_row = "skip"
[models.als]
factors = 64
iterations = 15
TOML
  {
    echo
    echo "### $label: the cost of ALS's final exact user solve"
    echo
    echo "Command: \`clickrec run $(basename "$pipeline") --set models.als.exact_user_solve=true|false\` ($shown, 64 factors, 15 sweeps, 2 threads)."
    echo
    echo "| exact_user_solve | ALS fit s | Recall@20 | NDCG@20 |"
    echo "|---|---|---|---|"
  } >> "$results"
  for exact in false true; do
    local run="$data/serve-als-exact-$exact"
    run_pipeline "$run" "$pipeline" --set "models.als.exact_user_solve=$exact"
    python3 - "$run" "$exact" >> "$results" <<'PY'
import json, sys
run, exact = sys.argv[1], sys.argv[2]
fit = next(m for m in json.load(open(f"{run}/manifest.json"))["stages"]["train"]["summary"] if m["model"] == "als")
als = next(m for m in json.load(open(f"{run}/metrics.json"))["models"] if m["name"] == "als")
at = next(a for a in als["variants"][0]["at_k"] if a["k"] == 20)
print(f"| {exact} | {fit['seconds']:.2f} | {at['recall']['mean']:.4f} | {at['ndcg']['mean']:.4f} |")
PY
  done
}

sessions_and_next_item=(--set 'models.vstan={}' --set 'models.sr={}' --set 'evaluate.protocol=["session","next_item"]')
for part in "${parts[@]}"; do
  case "$part" in
    head)
      input=../shared/data/taobao-userbehavior-users-head/UserBehavior_head.csv
      [ -f "$input" ] || { echo "skipped head: $input is absent"; continue; }
      run="$data/serve-taobao-head"
      run_pipeline "$run" pipelines/taobao.toml --set "input.path=$input" "${sessions_and_next_item[@]}"
      measure "$run" "Taobao head sample (pipelines/taobao.toml + V-STAN, SR, next-item)" vstan als item_knn
      als_exact_cost "Taobao head sample" "$PWD/$input" "$input"
      ;;
    yoochoose)
      pair=../shared/data/yoochoose-rsc15-100k-tuning
      [ -f "$pair/yoochoose-clicks-100k_train_tr.txt" ] || { echo "skipped yoochoose: $pair is absent"; continue; }
      run="$data/serve-sessions-rsc15"
      run_pipeline "$run" pipelines/sessions-rsc15.toml --set 'models.als={}'
      measure "$run" "YOOCHOOSE tuning pair (pipelines/sessions-rsc15.toml + ALS)" vstan als ""
      # Serenade on the same train file, the same replayed test sessions, one request
      # per click (it records the click and answers the list in one GET).
      sport=$((port + 1))
      slog="$data/serenade.log"
      bench/peers/serenade.sh "$pair/yoochoose-clicks-100k_train_tr.txt" "$sport" > "$slog" 2>&1 &
      spid=$!
      for _ in $(seq 6000); do
        curl -sf "http://127.0.0.1:$sport/internal" > /dev/null && break
        kill -0 "$spid" 2>/dev/null || { tail -20 "$slog"; exit 1; }
        sleep 0.5
      done
      {
        echo
        echo "Serenade (\`bench/peers/serenade.sh $pair/yoochoose-clicks-100k_train_tr.txt $sport\`: its VMIS-kNN, m = 2500, k = 100, the last 10 session items, 2 workers) on the same train file, the same replayed test sessions, one request per click (\`load … sessions --one-request '/v1/recommend?session_id={session}&item_id={item}&user_consent=true'\`); $(rss "$spid") after loading:"
        header
      } >> "$results"
      template='/v1/recommend?session_id={session}&item_id={item}&user_consent=true'
      "$load" "$run" sessions --addr "127.0.0.1:$sport" --rate 500 --requests 2000 --one-request "$template" > /dev/null
      for rate in 1000 2000; do
        "$load" "$run" sessions --addr "127.0.0.1:$sport" --rate "$rate" --requests 20000 --model serenade --one-request "$template" >> "$results"
      done
      echo -e "\nSerenade's memory after the load: $(rss "$spid")." >> "$results"
      kill -TERM "$spid"
      wait "$spid" || true
      ;;
    synthetic)
      input="$data/synthetic-10m.csv"
      [ -f "$input" ] || "$bin" generate --users 100000 --items 50000 --events 10000000 --seed 1 --out "$input"
      run="$data/serve-synthetic-10m"
      run_pipeline "$run" pipelines/synthetic-10m.toml --set "input.path=$input" "${sessions_and_next_item[@]}"
      measure "$run" "Generated 10M-event log (pipelines/synthetic-10m.toml + V-STAN, SR, next-item)" vstan als item_knn
      als_exact_cost "Generated 10M-event log" "$input" "${input#"$PWD"/}"
      ;;
    *) echo "unknown part $part (head, yoochoose, synthetic)"; exit 2 ;;
  esac
done
echo "appended to $results"
