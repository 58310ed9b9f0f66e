#!/usr/bin/env bash
# Cold build times of the README's two commands, as on a fresh machine: a copy of the
# working tree, an empty cargo home (so crates are downloaded too) and an empty target
# folder, with a `protoc` on PATH that only exits 1 (the default build must not need it).
#   bench/build.sh            # cargo run -- run pipelines/quickstart.toml, then cargo test --workspace
# Appends the wall times, the crates compiled and cargo's --timings report's ten slowest
# units to bench/results/build.md. Takes 10-30 minutes on 2 cores; nothing else should run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data="${BENCH_DATA:-$root/bench/.data}/build"
rm -rf "$data"
mkdir -p "$data/fake-bin" "$data/cargo-home"
printf '#!/bin/sh\necho "protoc must not be needed by the default build" >&2\nexit 1\n' >"$data/fake-bin/protoc"
chmod +x "$data/fake-bin/protoc"
# The working tree as it is (with .git, for the commit in --version), without build output.
mkdir "$data/tree"
tar --exclude=./runs --exclude=./target --exclude=./bench/.data --exclude=./.spark -cf - . |
  tar -xf - -C "$data/tree"
export CARGO_HOME="$data/cargo-home" CARGO_TARGET_DIR="$data/target" CARGO_TERM_COLOR=never
export PATH="$data/fake-bin:$PATH"
commit=$(git rev-parse --short=12 HEAD)
cd "$data/tree"

timed() { # label, command...: wall seconds of the command, its log in $data/<label>.log
  local label=$1
  shift
  local start end
  start=$(date +%s)
  "$@" >"$data/$label.log" 2>&1 || { tail -20 "$data/$label.log"; exit 1; }
  end=$(date +%s)
  echo $((end - start))
}
run_s=$(timed run cargo run --timings -- run pipelines/quickstart.toml)
run_units=$(grep -c '^   Compiling' "$data/run.log" || true)
test_s=$(timed test cargo test --workspace)
test_units=$(grep -c '^   Compiling' "$data/test.log" || true)
tests=$(grep '^test result' "$data/test.log" | awk '{p += $4; f += $6} END {print p " passed, " f " failed"}')
# The slowest units of the first build, from cargo's timing report (its UNIT_DATA table).
slowest=$(python3 - "$CARGO_TARGET_DIR/cargo-timings/cargo-timing.html" <<'EOF'
import json, re, sys
html = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", html, re.S).group(1))
for u in sorted(units, key=lambda u: -u["duration"])[:10]:
    print(f"| {u['name']} {u['version']} | {u['duration']:.1f} |")
EOF
)
{
  echo
  echo "## $(date -u +%Y-%m-%d) at $commit: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  echo
  echo '`bench/build.sh`: an empty cargo home and target folder, a `protoc` that exits 1.'
  echo
  echo "| command | wall | units compiled |"
  echo "|---|---|---|"
  echo "| \`cargo run -- run pipelines/quickstart.toml\` (cold, downloads included) | $((run_s / 60)) min $((run_s % 60)) s | $run_units |"
  echo "| then \`cargo test --workspace\` | $((test_s / 60)) min $((test_s % 60)) s | $test_units ($tests) |"
  echo
  echo "Slowest units of the first build (cargo --timings, seconds, 2 at a time):"
  echo
  echo "| unit | s |"
  echo "|---|---|"
  echo "$slowest"
} | tee -a "$root/bench/results/build.md"
