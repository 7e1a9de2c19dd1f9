#!/usr/bin/env bash
# npm run fuzz -- [--scenarios N] [--seed S] [--workflow] [--path P]
#
# Runs N generated sweeps (default 2000) of the core tier — or, with --workflow, of the workflow
# tier (default 30) — from seed S (default: the clock). A failure prints the seed, the path to the
# failing case and the smallest scenario that still fails; `--seed S --path P` replays just it.
set -euo pipefail
cd "$(dirname "$0")/.."

scenarios=""
seed=""
path=""
file=test/core/core-tier.test.ts
while [ $# -gt 0 ]; do
  case "$1" in
    --scenarios) scenarios="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --path) path="$2"; shift 2 ;;
    --workflow) file=test/workflow/workflow-tier.test.ts; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$scenarios" ]; then
  if [ "$file" = test/core/core-tier.test.ts ]; then scenarios=2000; else scenarios=30; fi
fi
case "$scenarios" in ''|*[!0-9]*|0) echo "fuzz: --scenarios must be a whole number ≥ 1, not '$scenarios'" >&2; exit 2 ;; esac
case "$seed" in *[!0-9-]*) echo "fuzz: --seed must be a whole number, not '$seed'" >&2; exit 2 ;; esac
[ -n "$seed" ] || seed=$(( $(date +%s%N) / 1000000 % 2147483648 ))

echo "fuzz: $scenarios scenarios of $file, seed $seed" >&2
export RIGSWEEP_FUZZ_SCENARIOS="$scenarios" RIGSWEEP_FUZZ_SEED="$seed" RIGSWEEP_FUZZ_PATH="$path"
exec npx vitest run --config vitest.fuzz.mts "$file"
