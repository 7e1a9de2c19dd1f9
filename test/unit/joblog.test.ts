import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { listAttempts } from '../../src/reports/attempts';
import { formatJoblog, JOBLOG_COLUMNS } from '../../src/reports/joblog';
import { attempt, failedWith, jobRecord, syntheticSweep, T0 } from './synthetic-sweep';

const rowsOf = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => line.split('\t'));

describe('joblog.tsv', () => {
  const jobs = [
    jobRecord('late', 1, [attempt(1, 'localhost', 0, 5, 2)]),
    jobRecord('flaky', 1, [attempt(1, '192.168.3.120', 0, 1, 0.5, failedWith(3)), attempt(2, '192.168.3.120', 1, 3.25, 4.0004)]),
    jobRecord('oom', 1, [attempt(1, 'localhost', 1, 2, 1.5, { failure_mode: 'KILLED', exit_code: null, signal: 'SIGKILL', error: 'killed by SIGKILL' })]),
  ];
  const rows = rowsOf(formatJoblog(listAttempts(jobs)));

  it('has a header, then one row per attempt in start order, numbered by Seq', () => {
    expect(rows[0]).toEqual([...JOBLOG_COLUMNS]);
    expect(rows.slice(1).map((row) => [row[0], row[1], row[5]])).toEqual([
      ['1', 'flaky', '1'],
      ['2', 'oom', '1'],
      ['3', 'flaky', '2'],
      ['4', 'late', '1'],
    ]);
    for (const row of rows) expect(row).toHaveLength(JOBLOG_COLUMNS.length);
  });

  it('gives start as epoch seconds and runtime in seconds, both with 3 decimals like GNU parallel', () => {
    const flakyRetry = rows.find((row) => row[1] === 'flaky' && row[5] === '2')!;
    expect(flakyRetry[6]).toBe(((T0 + 3250) / 1000).toFixed(3));
    expect(flakyRetry[7]).toBe('4.000');
  });

  it('reports node, GPU, batch, exit value, signal, failure mode and success of each attempt', () => {
    const byKey = Object.fromEntries(rows.slice(1).map((row) => [`${row[1]}#${row[5]}`, row]));
    expect(byKey['flaky#1'].slice(2)).toEqual(['192.168.3.120', '0', '1', '1', expect.any(String), '0.500', '3', '-', 'EXIT_CODE', '0', '-']);
    expect(byKey['flaky#2'].slice(2)).toEqual(['192.168.3.120', '1', '1', '2', expect.any(String), '4.000', '0', '-', '-', '1', '-']);
    expect(byKey['oom#1'].slice(8)).toEqual(['-', 'SIGKILL', 'KILLED', '0', '-']);
  });

  it('says which attempts another worker took on after theirs was lost: adopted or re-attached', () => {
    const taken = [
      jobRecord('ended-unreported', 1, [{ ...attempt(1, 'rig', 0, 0, 2), resumed: 'adopted' }]),
      jobRecord('still-running', 1, [{ ...attempt(1, 'rig', 1, 1, 9), resumed: 'reattached' }]),
    ];
    const resumed = rowsOf(formatJoblog(listAttempts([...taken, ...jobs])))
      .slice(1)
      .map((row) => [row[1], row.at(-1)]);
    expect(resumed).toEqual(
      expect.arrayContaining([
        ['ended-unreported', 'adopted'],
        ['still-running', 'reattached'],
        ['late', '-'],
      ]),
    );
  });

  it('keeps every row on one line and every field in its column, whatever a job id contains', () => {
    const nasty = jobRecord('a\tb\nc\r\nd', 2, [attempt(1, 'rig\tone', 0, 1, 1)]);
    const empty = jobRecord('', 2, [attempt(1, 'localhost', 3, 2, 1)]);
    const text = formatJoblog(listAttempts([nasty, empty]));
    const lines = rowsOf(text);
    expect(lines).toHaveLength(3);
    expect(lines[1].slice(1, 3)).toEqual(['a b c d', 'rig one']);
    expect(lines[2][1]).toBe('-');
    // `column -t -s $'\t'` lines the fields up under the header: nothing shifted a column.
    const table = execFileSync('column', ['-t', '-s', '\t'], { input: text, encoding: 'utf8' }).trimEnd().split('\n');
    const nodeAt = table[0].indexOf('Node');
    expect(table.slice(1).map((line) => line.slice(nodeAt).split(/\s{2,}/)[0])).toEqual(['rig one', 'localhost']);
  });

  it('lists an attempt the record names but its attempts list lacks (a record from before attempts were kept)', () => {
    const old = { ...jobRecord('old', 1, [attempt(1, 'localhost', 0, 0, 1)]), attempts: [] };
    expect(rowsOf(formatJoblog(listAttempts([old])))).toHaveLength(2);
  });

  it('has as many rows as attempts in a large sweep', () => {
    const sweep = syntheticSweep(1000);
    const attempts = sweep.jobs.reduce((sum, job) => sum + job.attempts.length, 0);
    expect(rowsOf(formatJoblog(listAttempts(sweep.jobs)))).toHaveLength(attempts + 1);
  });
});
