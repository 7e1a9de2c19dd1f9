import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimRunFolder, findRunFolder, outputDirStem, seedRunId } from '../../src/inputs/run-folder';

describe("the seed's run id", () => {
  it('is <stem of --output-dir>_<YYYYmmdd_HHMMSS> in local time', () => {
    const at = new Date(2026, 0, 15, 14, 30, 5);
    expect(seedRunId('full_scoring_results', at)).toBe('full_scoring_results_20260115_143005');
    expect(seedRunId('/home/m/dpa/scorer_trial_results/', at)).toBe('scorer_trial_results_20260115_143005');
  });

  it("takes the stem as Python's Path.stem does", () => {
    expect(outputDirStem('out/results.v2')).toBe('results');
    expect(outputDirStem('results')).toBe('results');
    expect(outputDirStem('.hidden')).toBe('.hidden');
  });
});

describe('claiming the run folder', () => {
  it('gives two sweeps of the same second folders of their own, and a retried plan its own again', async () => {
    const outputDir = join(mkdtempSync(join(tmpdir(), 'rigsweep-run-folder-')), 'full_scoring_results');
    const base = 'full_scoring_results_20260115_143005';
    expect(await claimRunFolder(outputDir, base, 'sweep-a')).toBe(base);
    expect(await claimRunFolder(outputDir, base, 'sweep-b')).toBe(`${base}_2`);
    expect(await claimRunFolder(outputDir, base, 'sweep-a')).toBe(base);
    expect(await claimRunFolder(outputDir, base, 'sweep-c')).toBe(`${base}_3`);
    expect(readdirSync(outputDir).sort()).toEqual([base, `${base}_2`, `${base}_3`]);
    expect(await findRunFolder(outputDir, 'sweep-b')).toBe(join(outputDir, `${base}_2`));
    expect(await findRunFolder(outputDir, 'sweep-z')).toBeNull();
  });

  it('lets only one of many sweeps claiming at once have each folder', async () => {
    const outputDir = join(mkdtempSync(join(tmpdir(), 'rigsweep-run-folder-')), 'out');
    const claimed = await Promise.all(Array.from({ length: 8 }, (_, i) => claimRunFolder(outputDir, 'out_20260115_143005', `sweep-${i}`)));
    expect(new Set(claimed).size).toBe(8);
  });
});
