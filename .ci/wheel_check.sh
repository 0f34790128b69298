#!/usr/bin/env bash
# The wheel, installed alone into a fresh virtual environment, must run the embedded sample: this
# catches an undeclared third-party import and a file the wheel forgets (SQL, registry, reference).
# Needs the package index (pip's cache makes it quick); run by `make wheel-check` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
python="${1:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" .
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --constraint requirements.lock "$work"/dist/achats-*.whl
cd "$work"  # outside the checkout: only the installed package can be imported
"$work/venv/bin/achats" run --data-dir "$repo/data/sample" --warehouse "$work/w.duckdb" --dashboard-dir "$work/d"
test -s "$work/d/tableau_de_bord_ess.html"
echo "wheel-check : la roue installée seule calcule l'échantillon"
