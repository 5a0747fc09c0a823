#!/usr/bin/env bash
# The trainer's pytest suite, with the project's virtual environment.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "No .venv: run 'npm run setup' first." >&2
  exit 1
fi
export PYTHONPATH="$PWD/trainer${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m pytest trainer/tests -q "$@"
