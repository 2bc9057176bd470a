#!/usr/bin/env bash
# Evidently 0.7 does not import with pandas 3, so it lives in its own virtualenv, created on first
# run. The marker file makes re-runs free and a half-finished install retry.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-evidently"
PY="${PYTHON:-python3}"
if [[ -f "$VENV/.ready" ]]; then exit 0; fi
echo "creating $VENV (evidently 0.7.23, pandas 2.x; first run only)" >&2
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "evidently==0.7.23" "pandas>=2.2,<3" "numpy<2.4" >&2
touch "$VENV/.ready"
