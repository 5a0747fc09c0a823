#!/usr/bin/env bash
# `npm run setup`: everything this project needs on a fresh machine of its kind (Debian 12,
# Node 20 + npm 11, Python 3.11; see shared ENVIRONMENT.md). Safe to run again: each phase checks
# cheaply whether it is done and skips. Prints one line per phase and how long it took.
#   1. npm packages (npm ci, honouring package.json "allowScripts")
#   2. the trainer's Python environment in .venv (torch & co. from trainer/requirements.txt,
#      then the trainer package itself, editable)
#   3. a real VS Code for `npm start` and the e2e tests (scripts/install-vscode-tools.sh)
# MGRPO_SETUP_SKIP_VSCODE=1 skips phase 3 (a machine that only trains or runs unit tests).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

phase() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { printf '%ss' "$(( $(date +%s) - $1 ))"; }
SETUP_START=$(date +%s)

# Free disk, said first: a fresh setup takes about 8 GB (the .venv is 6 GB: PyPI's Linux torch is the CUDA
# build), and the installed-extension e2e test makes a second 6 GB environment. A full disk otherwise shows up
# late, as a pip or npm error in the middle of something else.
free_kib="$(df -Pk . | awk 'NR == 2 { print $4 }')"
phase "disk: $(( free_kib / 1024 / 1024 )) GB free in $REPO_ROOT"
if (( free_kib < 16 * 1024 * 1024 )); then
  phase "WARNING: less than 16 GB free: setup needs about 8 GB and the tests about 8 GB more (the installed-extension test's trainer environment)"
fi

# Finds a Python >= 3.10 for the venv: python3 on PATH (pyenv here), else Debian's.
find_python() {
  local candidate
  for candidate in "${MGRPO_PYTHON:-}" python3 /usr/bin/python3; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  fail "no Python >= 3.10 with the venv module (set MGRPO_PYTHON=/path/to/python3)"
}

# ---- 1. npm packages ------------------------------------------------------------------------------
# package-lock.json's hash is stored in node_modules/.package-lock.json by npm itself; compare our
# own stamp of the lockfile instead, which is cheap and exact.
npm_stamp="node_modules/.mgrpo-setup-lock.sha256"
lock_hash="$(sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)"
if [[ -f "$npm_stamp" && "$(cat "$npm_stamp")" == "$lock_hash" ]]; then
  phase "npm: node_modules matches package-lock.json, skipping npm ci"
else
  t0=$(date +%s)
  phase "npm: npm ci"
  # onnxruntime-node's postinstall downloads a CUDA provider from a feed this machine cannot reach and then fails
  # the install; its CPU binaries are in the package itself (package.json's allowScripts also denies the script).
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$npm_stamp"
  phase "npm: done in $(elapsed "$t0")"
fi

# ---- 2. Python environment ------------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
  t0=$(date +%s)
  python="$(find_python)"
  phase "python: creating .venv with $python ($("$python" --version 2>&1))"
  "$python" -m venv .venv
  phase "python: .venv created in $(elapsed "$t0")"
else
  phase "python: .venv exists ($(.venv/bin/python --version 2>&1))"
fi

req_stamp=".venv/.mgrpo-requirements.sha256"
req_hash="$(sha256sum trainer/requirements.txt | cut -d' ' -f1)"
if [[ -f "$req_stamp" && "$(cat "$req_stamp")" == "$req_hash" ]]; then
  phase "python: trainer/requirements.txt already installed"
else
  t0=$(date +%s)
  phase "python: pip install -r trainer/requirements.txt (torch is a large download; minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r trainer/requirements.txt
  echo "$req_hash" > "$req_stamp"
  phase "python: requirements installed in $(elapsed "$t0")"
fi

if [[ -f trainer/pyproject.toml ]]; then
  if .venv/bin/python -c 'import mgrpo, sys, pathlib; sys.exit(pathlib.Path(mgrpo.__file__).resolve().parent != pathlib.Path("trainer/mgrpo").resolve())' 2>/dev/null; then
    phase "python: mgrpo (trainer/) already installed, editable"
  else
    t0=$(date +%s)
    phase "python: pip install -e trainer --no-deps"
    .venv/bin/python -m pip install --quiet -e trainer --no-deps
    phase "python: mgrpo installed in $(elapsed "$t0")"
  fi
else
  phase "python: trainer/pyproject.toml not there yet, skipping 'pip install -e trainer'"
fi
.venv/bin/python -c 'import torch' 2>/dev/null || fail ".venv cannot import torch; see the pip output above"

# ---- 3. VS Code tools -----------------------------------------------------------------------------
if [[ "${MGRPO_SETUP_SKIP_VSCODE:-}" == 1 ]]; then
  phase "vscode: skipped (MGRPO_SETUP_SKIP_VSCODE=1)"
else
  bash scripts/install-vscode-tools.sh
fi

phase "done in $(elapsed "$SETUP_START"). Next: npm test, npm start"
