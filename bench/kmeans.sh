#!/usr/bin/env bash
# k-means at the scale of a shop's user base: our fit_segments (linfa's k-means++ seeding
# + a parallel Lloyd) against linfa-clustering's own KMeans::fit, in one run, on seeded
# clustered vectors (crates/segment/examples/kmeans_speed.rs), 2 threads.
#
#   bench/kmeans.sh                    # 1M users × 64 dimensions, k = 20
#   bench/kmeans.sh USERS DIMS K
#
# Appends the output to bench/results/kmeans.md.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-1000000}
dims=${2:-64}
k=${3:-20}
mkdir -p bench/results
export RAYON_NUM_THREADS=2
cargo build --release -p clickrec-segment --example kmeans_speed
bin="${CARGO_TARGET_DIR:-target}/release/examples/kmeans_speed"
{
  echo
  echo "## $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $(nproc) cores"
  echo
  echo "Command: \`bench/kmeans.sh $users $dims $k\` (peak RSS from /usr/bin/time where present)."
  echo
  echo '```'
  for mode in ours linfa; do
    if [ -x /usr/bin/time ]; then
      /usr/bin/time -f "  peak RSS %M KiB, wall %e s" "$bin" "$users" "$dims" "$k" "$mode" 2>&1
    else
      "$bin" "$users" "$dims" "$k" "$mode"
    fi
  done
  echo '```'
} | tee -a bench/results/kmeans.md
