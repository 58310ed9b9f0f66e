#!/usr/bin/env bash
# Build and serve the peer Serenade (github.com/bolcom/serenade, VMIS-kNN session
# recommendations over HTTP) for side-by-side benchmarks with clickrec.
#
#   bench/peers/serenade.sh TRAIN_FILE PORT
#
# TRAIN_FILE: session-rec format, tab-separated `SessionId<TAB>ItemId<TAB>Time` with a header
# line (Time in Unix seconds, may be fractional), e.g.
# ../shared/data/yoochoose-rsc15-100k-tuning/yoochoose-clicks-100k_train_tr.txt. Serenade
# reads exactly this layout (csv crate, b'\t', has_headers, columns by position as
# (usize, usize, f64)), so no conversion is needed; integer ids are required.
#
# First run: unpacks/clones the source into bench/.serenade/src (ignored by git) and builds
# the `serving` binary in release into bench/.serenade/target (nice -n 19, 1 job; librocksdb-sys
# needs libclang: installed with apt-get when missing and running as root). Every run then
# writes bench/.serenade/serenade.toml and execs the server in the foreground, from
# bench/.serenade (its RocksDB session store is ./sessions.db there, wiped at each start).
#
# HTTP: GET /v1/recommend?session_id=S&item_id=I&user_consent=true -> JSON array of item ids.
# One call appends I to session S (stored, not appended again if equal to the last item; only
# the last max_items_in_session kept) and returns recommendations for the updated session.
# user_consent is required (400 without it); user_consent=false ignores/doesn't store the session
# and recommends for [I] alone. The clicked item itself is never returned; earlier items may be.
#
# Model settings (env overrides in brackets):
#   m_most_recent_sessions = 2500 [SERENADE_M]    clickrec's V-SKNN sample_size (session-rec's
#                                                  vsknn default is 1000; Serenade's default 500)
#   neighborhood_size_k    = 100  [SERENADE_K]    V-SKNN k (clickrec and session-rec default;
#                                                  Serenade's default 500)
#   max_items_in_session   = 10   [SERENADE_MAX_ITEMS]  Serenade's default is 2 (README HPO
#                                                  example: 4). V-SKNN uses the whole session,
#                                                  but Serenade's match weight 1-0.1*pos turns
#                                                  negative past 10 items, so 10 is the longest
#                                                  sane history
#   num_items_to_recommend = 20   [SERENADE_N]    top-20 as in the session-rec protocol
#                                                  (Serenade's default 21)
#   idf_weighting          = 1    [SERENADE_IDF]  Serenade's default (integer λ; item weight
#                                                  λ·ln(N/df), 0 = off, as clickrec's vsknn default)
#   num_workers            = 2    [SERENADE_WORKERS]  actix HTTP worker threads
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$ROOT/bench/.serenade"
SRC="$DIR/src"
TARGET="$DIR/target"
BIN="$TARGET/release/serving"

if [[ $# -ne 2 ]]; then
    echo "usage: $0 TRAIN_FILE PORT" >&2
    exit 2
fi
TRAIN="$(realpath -e "$1")"
PORT="$2"

mkdir -p "$DIR"

if [[ ! -f "$SRC/Cargo.toml" ]]; then
    echo "serenade: no source in $SRC, cloning https://github.com/bolcom/serenade" >&2
    rm -rf "$SRC"
    if ! git clone --depth 1 https://github.com/bolcom/serenade "$SRC" >&2; then
        echo "serenade: git clone failed (no GitHub access here?); unpack the source into $SRC" \
             "by hand, e.g. git --git-dir=MIRROR archive HEAD | tar -x -C $SRC" >&2
        exit 1
    fi
fi

# The source sits inside clickrec's cargo workspace: an empty [workspace] table keeps it
# out of it (cargo refuses to build it otherwise).
if ! grep -q '^\[workspace\]' "$SRC/Cargo.toml"; then
    printf '\n# added by bench/peers/serenade.sh: not part of the enclosing workspace\n[workspace]\n' \
        >> "$SRC/Cargo.toml"
fi

if [[ ! -x "$BIN" ]]; then
    # librocksdb-sys runs bindgen, which needs libclang.
    if ! ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/x86_64-linux-gnu/libclang-*.so* \
            >/dev/null 2>&1; then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            echo "serenade: installing libclang-dev (needed by librocksdb-sys/bindgen)" >&2
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >&2
        else
            echo "serenade: libclang not found; install libclang-dev" >&2
            exit 1
        fi
    fi
    # Upstream ships no Cargo.lock. indicatif 0.16 accepts console <1.0 but fails to compile
    # against console 0.16 (unresolved console::Term, Style, measure_text_width): pin 0.15.
    (cd "$SRC" && { [[ -f Cargo.lock ]] || cargo generate-lockfile >&2; } \
        && if ! grep -A1 '^name = "console"$' Cargo.lock | grep -q 'version = "0\.15\.'; then
               cargo update -p console --precise 0.15.8 >&2
           fi)
    echo "serenade: building release binary (first run, slow: compiles RocksDB)" >&2
    start=$(date +%s)
    (cd "$SRC" && CARGO_BUILD_JOBS=1 NUM_JOBS=1 nice -n 19 \
        cargo build --release --bin serving --target-dir "$TARGET" >&2)
    echo "serenade: built $BIN in $(( $(date +%s) - start )) s" >&2
fi

CONF="$DIR/serenade.toml"
cat > "$CONF" <<TOML
config_type = "toml"

[server]
host = "127.0.0.1"
port = $PORT
num_workers = ${SERENADE_WORKERS:-2}

[log]
level = "info"

[data]
training_data_path = "$TRAIN"

[model]
m_most_recent_sessions = ${SERENADE_M:-2500}
neighborhood_size_k = ${SERENADE_K:-100}
max_items_in_session = ${SERENADE_MAX_ITEMS:-10}
num_items_to_recommend = ${SERENADE_N:-20}
idf_weighting = ${SERENADE_IDF:-1}

[logic]
enable_business_logic = false

# serving parses (and unwraps) [hyperparam] too, although it does not use it.
[hyperparam]
training_data_path = "$TRAIN"
test_data_path = "$TRAIN"
validation_data_path = "$TRAIN"
num_iterations = 1
save_records = false
out_path = "$DIR/hpo.csv"
enable_business_logic = false
n_most_recent_sessions_range = [100, 2500]
neighborhood_size_k_range = [50, 1500]
last_items_in_session_range = [1, 20]
idf_weighting_range = [0, 5]
TOML

cd "$DIR"
rm -rf sessions.db
echo "serenade: serving $TRAIN on http://127.0.0.1:$PORT (config $CONF)" >&2
exec "$BIN" "$CONF"
