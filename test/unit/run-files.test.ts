import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendJobResults, appendTimeline, readJobResults, readTimeline, startRunRecords } from '../../src/results/run-files';
import { attempt, jobRecord, T0 } from './synthetic-sweep';

const runFolder = () => join(mkdtempSync(join(tmpdir(), 'rigsweep-run-files-')), 'run');

describe('the files of a run folder', () => {
  it('reads each job once, its last record, where the job first appears', async () => {
    const dir = runFolder();
    const first = jobRecord('a', 1, [attempt(1, 'localhost', 0, 0, 3)]);
    const retried = jobRecord('a', 1, [attempt(1, 'localhost', 1, 0, 4)]);
    await appendJobResults(dir, [first, jobRecord('b', 1, [attempt(1, 'localhost', 0, 0, 2)])]);
    await appendJobResults(dir, [retried]);
    expect(await readJobResults(dir)).toEqual([retried, expect.objectContaining({ job_id: 'b' })]);
  });

  it('starts a run afresh: no old records, an empty timeline, and nothing read before the folder exists', async () => {
    const dir = runFolder();
    expect(await readJobResults(dir)).toEqual([]);
    expect(await readTimeline(dir)).toBeNull();
    await appendJobResults(dir, [jobRecord('a', 1, [attempt(1, 'localhost', 0, 0, 3)])]);
    await appendTimeline(dir, [{ kind: 'batch', batch: 1, start_ms: T0, end_ms: T0 + 1000 }]);
    await startRunRecords(dir);
    expect(readdirSync(dir).sort()).toEqual(['results.jsonl', 'timeline.jsonl']);
    expect(await readJobResults(dir)).toEqual([]);
    expect(await readTimeline(dir)).toEqual([]);
  });

  it('skips a timeline line cut off by a write in progress', async () => {
    const dir = runFolder();
    await appendTimeline(dir, [{ kind: 'batch', batch: 1, start_ms: T0, end_ms: T0 + 1000 }]);
    writeFileSync(join(dir, 'timeline.jsonl'), readFileSync(join(dir, 'timeline.jsonl'), 'utf8') + '{"kind":"rese');
    expect(await readTimeline(dir)).toEqual([{ kind: 'batch', batch: 1, start_ms: T0, end_ms: T0 + 1000 }]);
  });

  it('keeps every whole record after an append a full disk cut short: the cut line is skipped, the retried batch and the next ones read back', async () => {
    const dir = runFolder();
    const a = jobRecord('a', 1, [attempt(1, 'localhost', 0, 0, 3)]);
    const b = jobRecord('b', 1, [attempt(1, 'localhost', 1, 0, 2)]);
    const c = jobRecord('c', 2, [attempt(1, 'localhost', 0, 0, 4)]);
    await appendJobResults(dir, [a]);
    const file = join(dir, 'results.jsonl');
    // The disk filled up halfway through b's line; the activity's retry appends b again, then c follows.
    const bLine = JSON.stringify(b);
    writeFileSync(file, readFileSync(file, 'utf8') + bLine.slice(0, Math.floor(bLine.length / 2)));
    await appendJobResults(dir, [b]);
    await appendJobResults(dir, [c]);
    expect(await readJobResults(dir)).toEqual([a, b, c]);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(5); // a, the cut line, b, c, and the final newline's empty tail
  });
});
