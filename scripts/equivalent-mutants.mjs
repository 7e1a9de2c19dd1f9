#!/usr/bin/env node
// node scripts/equivalent-mutants.mjs [--write]
//
// The mutants marked equivalent in the mutated source — each `// Stryker disable next-line
// <mutators>: equivalent — <why>` above the line it guards — as the table docs/dispatcher-core.md
// keeps between its equivalent-mutants markers. Prints the table; --write puts it in the doc.
// test/unit/equivalent-mutants.test.ts fails when the doc's table is not this one.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
export const DOC = join(ROOT, 'docs', 'dispatcher-core.md');
const BEGIN = '<!-- equivalent-mutants:begin (scripts/equivalent-mutants.mjs --write) -->';
const END = '<!-- equivalent-mutants:end -->';
/** The files `npm run mutate` mutates (stryker.config.mjs). */
const MUTATED = ['src/shared/dispatch', 'src/shared/planner.ts', 'src/shared/retry-policy.ts', 'src/shared/live-settings.ts'];
const DISABLE = /\/\/ Stryker disable next-line ([\w,]+): equivalent — (.+)$/;

function* sourceFiles(path) {
  if (path.endsWith('.ts')) yield path;
  else for (const entry of readdirSync(path, { withFileTypes: true })) yield* sourceFiles(join(path, entry.name));
}

/** One row per disable comment: the file, the line it guards, its mutators and why. */
export function equivalentMutants(root = ROOT) {
  const rows = [];
  for (const start of MUTATED)
    for (const file of [...sourceFiles(join(root, start))].sort()) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (!line.includes('Stryker disable')) return;
        const found = DISABLE.exec(line.trim());
        // Any other form (a whole file, a block, no reason) would hide mutants from this table.
        if (!found) throw new Error(`${relative(root, file)}:${i + 1}: write it as "// Stryker disable next-line <mutators>: equivalent — <why>"`);
        const guarded = (lines[i + 1] ?? '').trim();
        rows.push({
          file: relative(root, file),
          code: guarded.length > 80 ? `${guarded.slice(0, 77)}...` : guarded,
          mutators: found[1].split(','),
          why: found[2],
        });
      });
    }
  return rows;
}

export function equivalentMutantsTable(root = ROOT) {
  const cell = (text) => text.replaceAll('|', '\\|').replaceAll('`', "'");
  const rows = equivalentMutants(root);
  return [
    BEGIN,
    `${rows.length} lines in \`src\` carry a \`// Stryker disable next-line\` with why its mutants cannot change behaviour:`,
    '',
    '| file | the line | mutators | why it cannot change behaviour |',
    '|---|---|---|---|',
    ...rows.map((row) => `| ${row.file.replace('src/shared/', '')} | \`${cell(row.code)}\` | ${row.mutators.join(', ')} | ${cell(row.why)} |`),
    END,
  ].join('\n');
}

/** The table as the doc has it now, or undefined when the doc has no markers. */
export function documentedTable(doc = readFileSync(DOC, 'utf8')) {
  const from = doc.indexOf(BEGIN);
  const to = doc.indexOf(END);
  return from < 0 || to < 0 ? undefined : doc.slice(from, to + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const table = equivalentMutantsTable();
  if (process.argv.includes('--write')) {
    const doc = readFileSync(DOC, 'utf8');
    const now = documentedTable(doc);
    if (!now) throw new Error(`${DOC}: no equivalent-mutants markers to write between`);
    writeFileSync(DOC, doc.replace(now, table));
  } else console.log(table);
}
