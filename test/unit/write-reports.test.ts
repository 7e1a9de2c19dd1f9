import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeResultsActivity } from '../../src/activities/write-results';
import { writeReports } from '../../src/reports/write-reports';
import { appendJobResults } from '../../src/results/run-files';
import type { ResultsJson } from '../../src/shared/results';
import type { SweepPlan } from '../../src/shared/sweep-plan';
import { readJson } from '../harness/read-json';
import { attempt, failedWith, jobRecord, T0 } from './synthetic-sweep';

const jobs = [
  jobRecord('a', 1, [attempt(1, 'localhost', 0, 0, 3)]),
  jobRecord('b', 1, [attempt(1, 'localhost', 1, 0, 1, failedWith(3)), attempt(2, 'localhost', 0, 4, 3)]),
];

describe('writing the reports into a results folder', () => {
  it('writes joblog.tsv and report.html from results.jsonl alone, with no temporary file left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rigsweep-reports-unit-'));
    await appendJobResults(dir, jobs);
    const paths = await writeReports(dir);
    expect(paths).toEqual({ joblog: join(dir, 'joblog.tsv'), html: join(dir, 'report.html') });
    expect(readFileSync(paths.joblog, 'utf8').trimEnd().split('\n')).toHaveLength(4);
    expect(readFileSync(paths.html, 'utf8')).toContain('No timeline.jsonl');
    expect(readdirSync(dir).sort()).toEqual(['joblog.tsv', 'report.html', 'results.jsonl']);
  });

  it('skips a timeline line cut off by a write in progress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rigsweep-reports-unit-'));
    await appendJobResults(dir, jobs);
    writeFileSync(join(dir, 'timeline.jsonl'), JSON.stringify({ kind: 'batch', batch: 1, start_ms: T0, end_ms: T0 + 8000 }) + '\n{"kind":"rese');
    const html = readFileSync((await writeReports(dir)).html, 'utf8');
    expect(html.match(/<rect class="band /g)).toHaveLength(1);
  });

  it('never fails the sweep: the Results JSON is written and returned even when a report cannot be', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rigsweep-reports-unit-'));
    await appendJobResults(dir, jobs);
    mkdirSync(join(dir, 'report.html')); // renaming the report onto a directory fails
    await expect(writeReports(dir)).rejects.toThrow();
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const plan = {
      runId: 'r',
      totalJobs: 2,
      resultsDir: dir,
      preservePaths: false,
      batches: [],
      nodes: [],
      jobSource: { kind: 'inline' },
      configFile: 'c.json',
    } as unknown as SweepPlan;
    const results = await writeResultsActivity({ plan, startedAtMs: T0, warnings: [], preflight: [] });
    expect(results).toMatchObject({ run_id: 'r', successful: 2 });
    expect(readJson<ResultsJson>(join(dir, 'sweep_results.json')).successful).toBe(2);
  });
});
