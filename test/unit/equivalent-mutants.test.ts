/**
 * The mutants marked equivalent in the core's source are the ones docs/dispatcher-core.md lists:
 * each `// Stryker disable next-line` says why, in the one form the doc's table is made from.
 */
import { describe, expect, it } from 'vitest';

describe('mutants marked equivalent', () => {
  it('are listed in docs/dispatcher-core.md exactly as the source marks them (node scripts/equivalent-mutants.mjs --write)', async () => {
    const { documentedTable, equivalentMutantsTable } = await import('../../scripts/equivalent-mutants.mjs');
    expect(documentedTable()).toBe(equivalentMutantsTable());
  });
});
