#!/usr/bin/env bash
# Quick start, command 2: run the test suite (sets up .venv on first use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/setup_env.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
