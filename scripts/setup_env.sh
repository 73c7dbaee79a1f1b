#!/usr/bin/env bash
# Create (once) the project's virtual environment in .venv and install maxent into it.
# torch is installed first, pinned to the CPU wheel, so the open `torch>=...` requirement in
# pyproject.toml is already satisfied and pip never pulls a multi-GB CUDA build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MAXENT_VENV:-$ROOT/.venv}"
STAMP="$VENV/.maxent-installed"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev,distributed]"
    touch "$STAMP"
fi
