#!/usr/bin/env bash
# `npm test`: every suite, in order of cost. Runs them all, then fails if any failed.
set -u
cd "$(dirname "$0")/.."
failed=()
run() {
  local name=$1; shift
  echo "==> $name: $*"
  if ! "$@"; then failed+=("$name"); fi
}
run typecheck npm run --silent typecheck
run unit npm run --silent test:unit
run python bash scripts/pytest.sh
run e2e npm run --silent test:e2e
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
