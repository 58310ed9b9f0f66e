#!/usr/bin/env bash
# Prints the clickrec binary the benchmarks run: $CLICKREC_BIN when set (e.g. a dev-profile
# build), else a release build of this checkout (built here, its output on stderr).
set -euo pipefail
if [ -n "${CLICKREC_BIN:-}" ]; then
  echo "$CLICKREC_BIN"
  exit 0
fi
cd "$(dirname "$0")/.."
cargo build --release -p clickrec-cli >&2
target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
echo "$target/release/clickrec"
