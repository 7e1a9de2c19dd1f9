#!/usr/bin/env node
// node scripts/mutation-survivors.mjs [reports/mutation/mutation.json]
//
// After `npm run mutate`: the score and every mutant that survived or had no test reaching it,
// by file and line, from Stryker's JSON report — the list to kill with new checks or to explain
// in docs/dispatcher-core.md.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'reports/mutation/mutation.json', 'utf8'));
const counts = {};
const open = [];
for (const [file, { source, mutants }] of Object.entries(report.files)) {
  const lines = source.split('\n');
  for (const mutant of mutants) {
    counts[mutant.status] = (counts[mutant.status] ?? 0) + 1;
    if (mutant.status !== 'Survived' && mutant.status !== 'NoCoverage') continue;
    const { line, column } = mutant.location.start;
    const original = lines[line - 1].trim().slice(0, 90);
    open.push({
      file,
      line,
      column,
      mutator: mutant.mutatorName,
      status: mutant.status,
      replacement: (mutant.replacement ?? '').replace(/\s+/g, ' ').slice(0, 60),
      original,
    });
  }
}
const detected = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
const valid = detected + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
console.log(`score ${((100 * detected) / valid).toFixed(2)} % of ${valid} valid mutants; ${JSON.stringify(counts)}`);
const files = [...new Set(open.map((m) => m.file))].sort();
for (const file of files) {
  const mine = open.filter((m) => m.file === file).sort((a, b) => a.line - b.line || a.column - b.column);
  console.log(`\n## ${file} (${mine.length})\n\n\`\`\`text`);
  for (const m of mine)
    console.log(`${m.line}:${m.column} ${m.status === 'NoCoverage' ? '[no coverage] ' : ''}${m.mutator} → ${m.replacement}   | ${m.original}`);
  console.log('```');
}
