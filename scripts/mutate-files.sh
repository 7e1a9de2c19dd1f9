#!/usr/bin/env bash
# scripts/mutate-files.sh <file or file:lines>...   e.g. src/shared/dispatch/upkeep.ts:40-90
#
# Stryker on a few files only, while you work on their checks: the mutation run's own config and
# tests (stryker.config.mjs, vitest.mutate.mts), without the incremental file (left untouched)
# and without the break threshold. Prints the score and the survivors of those files. At most two
# such runs share this 2-core machine at once (a semaphore); others wait their turn.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: scripts/mutate-files.sh <file[:lines]>..." >&2; exit 2; }
name="files-$$"
config="stryker.$name.mjs"
report="reports/mutation-$name"
mkdir -p reports
trap 'rm -f "$config"; rm -rf ".stryker-tmp-$name"' EXIT
node -e '
  const [config, name, report, ...files] = process.argv.slice(1);
  require("node:fs").writeFileSync(config, `import base from "./stryker.config.mjs";
export default { ...base, mutate: ${JSON.stringify(files)}, incremental: false, thresholds: { ...base.thresholds, break: null },
  tempDirName: ".stryker-tmp-${name}", reporters: ["json", "progress"], jsonReporter: { fileName: "${report}/mutation.json" } };
`);' "$config" "$name" "$report" "$@"
sem --id rigsweep-stryker -j2 --fg npx stryker run "$config" >"$report.log" 2>&1 || { tail -30 "$report.log"; exit 1; }
node scripts/mutation-survivors.mjs "$report/mutation.json"
