#!/usr/bin/env bash
# `npm run bench`: every benchmark, in order of cost. Each prints its figures and writes a markdown page
# into bench/results/. BENCH_QUICK=1 makes it a smoke run (minutes, figures not meaningful; its pages go to
# bench/out/results-quick/ so they never overwrite real results). Runs them all, then fails if any failed.
set -u
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "No .venv: run 'npm run setup' first." >&2
  exit 1
fi
# Benchmarks never download: the models are shipped or built locally.
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
py=.venv/bin/python
failed=()
run() {
  local name=$1; shift
  echo "==> $name: $*"
  local started=$SECONDS
  if ! "$@"; then failed+=("$name"); fi
  echo "<== $name: $((SECONDS - started)) s"
}
if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != "0" ]; then
  echo "BENCH_QUICK=$BENCH_QUICK: smoke run, results go to bench/out/results-quick/"
fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The extension's own benchmarks, when that part of the project defines them.
if node -e 'process.exit(require("./package.json").scripts?.["bench:extension"] ? 0 : 1)' 2>/dev/null; then
  run extension npm run --silent bench:extension
fi
# The local ONNX runtime (Score Trace, What If) against PyTorch on the CPU, and the host's event loop meanwhile.
run extension-onnx npx --no-install tsx bench/extension/onnx-bench.ts
run trainer-import "$py" bench/trainer/import_bench.py
run trainer-sampling "$py" bench/trainer/sampling_bench.py
run trainer-step "$py" bench/trainer/step_bench.py
run trainer-learning "$py" bench/trainer/learning_bench.py
# Reads the MGRPO runs the learning bench just trained: where layer 2 departs vs the checker's first error.
run trainer-implicit-labels "$py" bench/trainer/implicit_labels.py --out bench/results/trainer-implicit-labels.md

if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED benchmarks: ${failed[*]}"
  exit 1
fi
if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != "0" ]; then
  echo "all benchmarks finished (quick); pages in bench/out/results-quick/"
else
  echo "all benchmarks finished; results in bench/results/"
fi
