#!/usr/bin/env bash
# Quick start, command 1: run the default pipeline on the embedded digits data.
# Sets up .venv on first use; extra arguments are passed to `maxent run`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/setup_env.sh
exec .venv/bin/maxent run pipelines/default.yaml --out results/ "$@"
