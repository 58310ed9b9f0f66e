#!/usr/bin/env bash
# Prints the Python of a benchmark virtualenv, creating it on first use inside the
# repository (bench/.venv-NAME, ignored by git) from bench/NAME/requirements.txt.
#
#   python=$(bench/venv.sh peers)        # implicit 0.7.3, for bench/models.sh
#   python=$(bench/venv.sh crosscheck)   # ranx, for bench/crosscheck
set -euo pipefail
cd "$(dirname "$0")"
name=${1:?usage: bench/venv.sh peers|crosscheck}
requirements="$name/requirements.txt"
[ -f "$requirements" ] || { echo "bench/venv.sh: no $requirements" >&2; exit 2; }
venv=".venv-$name"
if [ ! -x "$venv/bin/python" ] || [ "$requirements" -nt "$venv/installed" ]; then
  echo "== creating bench/$venv from bench/$requirements" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$requirements" >&2
  touch "$venv/installed"
fi
echo "$PWD/$venv/bin/python"
