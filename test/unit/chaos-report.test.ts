/** The chaos table's counting: a job run twice at once is caught, copies one after another are not. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chaosTable, jobsRunTwiceAtOnce } from '../harness/chaos-report';
import type { TrialRun } from '../harness/sweep-fixture';

const run = (jobId: string, start: number, end: number) => ({ jobId, start, end, node: 'n', gpu: 0 }) as TrialRun;

describe('chaos report', () => {
  it('counts jobs whose copies overlapped, not copies that followed each other', () => {
    expect(jobsRunTwiceAtOnce([run('a', 0, 10), run('a', 10, 20), run('b', 0, 5)])).toBe(0);
    expect(jobsRunTwiceAtOnce([run('a', 0, 10), run('a', 9, 20), run('b', 0, 5), run('b', 1, Infinity)])).toBe(2);
  });

  it('sums each fault over its runs', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rigsweep-chaos-test-')), 'r.jsonl');
    const row = { fault: 'cut', jobs: 2, lost: 0, twiceAtOnce: 1, orphans: 0, recoverSeconds: 3 };
    writeFileSync(file, `${JSON.stringify(row)}\n${JSON.stringify({ ...row, recoverSeconds: 5 })}\n`);
    const [header, line] = chaosTable(file);
    expect(header).toMatch(/^fault\s+runs\s+jobs\s+lost\s+run twice at once/);
    expect(line.split(/\s{2,}/)).toEqual(['cut', '2', '4', '0', '2', '0', '5.0']);
  });
});
