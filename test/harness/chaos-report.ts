/**
 * The chaos suite's bookkeeping: each fault test reports what it saw — jobs, jobs lost, jobs that
 * ran twice at once, processes left behind, time to recover — and `npm run chaos` prints one
 * table of them. In `npm test` (the CI smoke subset) the same tests run once and report nothing.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { readJobResults } from '../../src/results/run-files';
import type { TrialRun } from './sweep-fixture';

export const CHAOS_REPORT_ENV = 'RIGSWEEP_CHAOS_REPORT';

/**
 * True inside `npm run chaos`: test files that mix fault tests with others skip the others there
 * (`describe.skipIf(inChaosRun)`), so the chaos run stays the fault tests. The global setup sets
 * the variable before the test forks start, so it is read once, at import.
 */
export const inChaosRun = Boolean(process.env[CHAOS_REPORT_ENV]);

export interface ChaosRow {
  fault: string;
  /** Jobs in the sweep; for bad input, the broken inputs tried. */
  jobs: number;
  /**
   * Jobs without a successful final result; for a cancel, jobs that finished on their node but are
   * not on record as successes; for bad input, inputs not refused with exit 2 naming file and field.
   */
  lost: number;
  /** Jobs with two copies running at the same moment. */
  twiceAtOnce: number;
  /** Trial processes still running when the sweep had ended (15 s after a cancel); for bad input, trials started at all. */
  orphans: number;
  /** Seconds from the fault to the sweep's end (or to the processes being gone, for a cancel; to the error, for bad input). */
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

/**
 * Trial processes still running, not zombies: the pids the nodes recorded, plus whatever
 * `pgrep -f` finds with `--job <jobPrefix><n>` on its command line (a trial killed before it could
 * write its record). The rigs share this machine's pid namespace, so both see their processes too.
 */
export function liveTrialProcesses(recordedPids: number[], jobPrefix: string): number[] {
  const pgrep = spawnSync('pgrep', ['-f', '--', `--job ${jobPrefix}[0-9]+`], { encoding: 'utf8' });
  const found = pgrep.stdout.split('\n').filter(Boolean).map(Number);
  return [...new Set([...recordedPids, ...found])].filter(isRunning);
}

/** The process lives: it exists and is not a zombie waiting for its parent (or init) to reap it. */
export function isRunning(pid: number): boolean {
  try {
    // Field 3 of /proc/<pid>/stat is the state; the name before it may hold spaces, hence after ')'.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').at(-1)!.trim()[0] !== 'Z';
  } catch {
    return false;
  }
}

export interface AfterCancel {
  /** Trial processes still running `graceMs` after the cancel. */
  orphans: number;
  /** Seconds from the cancel until none was left (or until the grace ran out). */
  goneAfterSeconds: number;
}

/** Polls `live` every 100 ms from the cancel on, until it is empty or `graceMs` have passed. */
export async function watchTrialsAfterCancel(live: () => number[], cancelledAtMs: number, graceMs = 15_000): Promise<AfterCancel> {
  for (;;) {
    const alive = live().length;
    const seconds = (Date.now() - cancelledAtMs) / 1000;
    if (alive === 0 || seconds * 1000 >= graceMs) return { orphans: alive, goneAfterSeconds: seconds };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * What a cancelled sweep keeps is `results.jsonl` in its results folder (its partial Results JSON
 * is built from it). Counts the jobs lost to a cancel: a trial that ended with exit 0 on its node, but whose job that
 * file misses or records as failed.
 */
export async function jobsFinishedButNotRecorded(runs: TrialRun[], resultsDir: string): Promise<number> {
  const recorded = new Map((await readJobResults(resultsDir)).map((job) => [job.job_id, job.success]));
  const finished = new Set(runs.filter((run) => run.endRecord?.exit_code === 0).map((run) => run.jobId));
  return [...finished].filter((jobId) => recorded.get(jobId) !== true).length;
}

/** The table `npm run chaos` prints: one line per fault, summed over its runs. */
export function chaosTable(file: string): string[] {
  if (!existsSync(file)) return ['no fault reported'];
  const rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ChaosRow);
  const faults = [...new Set(rows.map((row) => row.fault))];
  const header = ['fault', 'runs', 'jobs', 'lost', 'run twice at once', 'orphans left', 'time to recover (s), max'];
  const lines = faults.map((fault) => {
    const of = rows.filter((row) => row.fault === fault);
    const sum = (key: keyof ChaosRow) => of.reduce((total, row) => total + (row[key] as number), 0);
    return [fault, of.length, sum('jobs'), sum('lost'), sum('twiceAtOnce'), sum('orphans'), Math.max(...of.map((row) => row.recoverSeconds)).toFixed(1)].map(
      String,
    );
  });
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
  return [header, ...lines].map((cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}
