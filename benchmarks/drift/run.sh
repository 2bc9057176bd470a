#!/usr/bin/env bash
# One command for the drift benchmark (make bench-drift). Creates Evidently's own virtualenv on
# first run (Evidently 0.7 does not import with pandas 3), then runs everything in one go.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash benchmarks/drift/setup_evidently.sh
PY="${PYTHON:-$ROOT/.venv/bin/python}"
exec "$PY" -m benchmarks.drift "$@"
