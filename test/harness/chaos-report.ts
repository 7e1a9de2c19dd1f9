/**
 * The chaos suite's bookkeeping: each fault test reports what it saw — jobs, jobs lost, jobs that
 * ran twice at once, processes left behind, time to recover — and `npm run chaos` prints one
 * table of them. In `npm test` (the CI smoke subset) the same tests run once and report nothing.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { TrialRun } from './sweep-fixture';

export const CHAOS_REPORT_ENV = 'RIGSWEEP_CHAOS_REPORT';

export interface ChaosRow {
  fault: string;
  jobs: number;
  /** Jobs without a successful final result. */
  lost: number;
  /** Jobs with two copies running at the same moment. */
  twiceAtOnce: number;
  /** Trial processes still running when the sweep had ended. */
  orphans: number;
  /** Seconds from the fault to the sweep's end (or to the processes being gone, for a cancel). */
  recoverSeconds: number;
}

export function reportChaos(row: ChaosRow): void {
  const file = process.env[CHAOS_REPORT_ENV];
  if (file) appendFileSync(file, JSON.stringify(row) + '\n');
}

/** Jobs of which two copies overlapped in time, from the nodes' own records. */
export function jobsRunTwiceAtOnce(runs: TrialRun[]): number {
  const byJob = new Map<string, TrialRun[]>();
  for (const run of runs) byJob.set(run.jobId, [...(byJob.get(run.jobId) ?? []), run]);
  return [...byJob.values()].filter((copies) => copies.some((a, i) => copies.some((b, j) => i < j && a.start < b.end && b.start < a.end))).length;
}

/** The table `npm run chaos` prints: one line per fault, summed over its runs. */
export function chaosTable(file: string): string[] {
  if (!existsSync(file)) return ['no fault reported'];
  const rows = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as ChaosRow);
  const faults = [...new Set(rows.map((row) => row.fault))];
  const header = ['fault', 'runs', 'jobs', 'lost', 'run twice at once', 'orphans left', 'time to recover (s), max'];
  const lines = faults.map((fault) => {
    const of = rows.filter((row) => row.fault === fault);
    const sum = (key: keyof ChaosRow) => of.reduce((total, row) => total + (row[key] as number), 0);
    return [fault, of.length, sum('jobs'), sum('lost'), sum('twiceAtOnce'), sum('orphans'), Math.max(...of.map((row) => row.recoverSeconds)).toFixed(1)].map(String);
  });
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
  return [header, ...lines].map((cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}
