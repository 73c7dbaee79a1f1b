#!/usr/bin/env bash
# Create one virtual environment per inverse-Ising peer under benchmarks/.peers/ (gitignored).
#
#   benchmarks/.peers/coniii    ConIII 3.0.1 (numpy<2, scipy<1.12: it predates both)
#   benchmarks/.peers/adabmdca  adabmDCA 1.0.0 on the CPU build of torch 2.13.0
#
# Idempotent: an environment whose peer already imports at the pinned version is left alone.
# Usage:  bash benchmarks/peers/setup_peers.sh [coniii] [adabmdca]      (default: both)
# Env:    PYTHON=python3.11 (interpreter for the venvs), PEERS_DIR=benchmarks/.peers
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers_dir="${PEERS_DIR:-$here/../.peers}"
python="${PYTHON:-python3}"
mkdir -p "$peers_dir"
peers_dir="$(cd "$peers_dir" && pwd)"

say() { printf '[setup_peers] %s\n' "$*"; }

make_venv() {  # make_venv DIR
    if [[ ! -x "$1/bin/python" ]]; then
        say "creating venv $1 with $($python --version 2>&1)"
        "$python" -m venv "$1"
        "$1/bin/python" -m pip install --quiet --upgrade pip
    else
        say "venv $1 exists"
    fi
}

has_version() {  # has_version VENV MODULE DIST VERSION
    "$1/bin/python" - "$2" "$3" "$4" <<'PY' >/dev/null 2>&1
import importlib, importlib.metadata as md, sys
mod, dist, version = sys.argv[1:]
importlib.import_module(mod)
sys.exit(0 if md.version(dist) == version else 1)
PY
}

setup_coniii() {
    local venv="$peers_dir/coniii"
    make_venv "$venv"
    if has_version "$venv" coniii coniii 3.0.1; then
        say "coniii 3.0.1 already installed in $venv"
        return
    fi
    say "installing ConIII's build/run dependencies (numpy<2, scipy<1.12: ConIII 3.0.1 calls scipy.exp)"
    "$venv/bin/pip" install --quiet "numpy<2" "scipy<1.12" multiprocess numba dill mpmath matplotlib \
        setuptools wheel
    # setup.py imports its dependencies and reads CONDA_PREFIX: build without isolation, inside the venv.
    say "installing coniii==3.0.1 (no build isolation, CONDA_PREFIX=$venv)"
    CONDA_PREFIX="$venv" VIRTUAL_ENV="$venv" "$venv/bin/pip" install --quiet --no-build-isolation \
        coniii==3.0.1
    has_version "$venv" coniii coniii 3.0.1 || { say "ERROR: coniii 3.0.1 does not import"; exit 1; }
    say "coniii $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("coniii"))') ready"
}

setup_adabmdca() {
    local venv="$peers_dir/adabmdca"
    make_venv "$venv"
    if has_version "$venv" adabmDCA adabmDCA 1.0.0 || has_version "$venv" adabmDCA adabmdca 1.0.0; then
        say "adabmDCA 1.0.0 already installed in $venv"
        return
    fi
    # torch first, so adabmDCA's torch requirement is already met and pip pulls no CUDA build. Here
    # pip's find-links hold the CPU wheel 2.13.0+cpu, which sorts above PyPI's 2.13.0 and wins.
    say "installing torch==2.13.0 (CPU wheel) first"
    "$venv/bin/pip" install --quiet "torch==2.13.0"
    "$venv/bin/python" -c 'import torch, sys; sys.exit(0 if torch.version.cuda is None else 1)' \
        || say "WARNING: torch in $venv is a CUDA build ($("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
    say "installing adabmdca==1.0.0"
    "$venv/bin/pip" install --quiet "adabmdca==1.0.0"
    "$venv/bin/python" -c 'import adabmDCA' || { say "ERROR: adabmDCA does not import"; exit 1; }
    say "adabmDCA ready (torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
}

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(coniii adabmdca)
for t in "${targets[@]}"; do
    case "$t" in
        coniii) setup_coniii ;;
        adabmdca) setup_adabmdca ;;
        *) say "unknown peer '$t' (use coniii, adabmdca)"; exit 2 ;;
    esac
done
say "done; peer venvs in $peers_dir"
