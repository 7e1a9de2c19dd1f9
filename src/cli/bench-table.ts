/**
 * The table the user's benchmark script printed — one row per value of the benchmarked parameter:
 * `sample_size, trials, total_runtime_s, avg_trial_time_s, throughput_trials_per_min,
 * success_rate, successful, failed` — and the value it recommends: the highest throughput among
 * the values whose trials succeeded at least 95% of the time. Pure code.
 */
import type { JobResult, ResultsJson } from '../shared/results';

/** Below this success rate a value is never recommended, however fast it ran. */
export const MIN_SUCCESS_RATE = 0.95;

/** The table's columns after the parameter's own, in the user's order. */
export const BENCH_COLUMNS = ['trials', 'total_runtime_s', 'avg_trial_time_s', 'throughput_trials_per_min', 'success_rate', 'successful', 'failed'] as const;
type BenchColumn = (typeof BENCH_COLUMNS)[number];
/** Keys of a row in bench_results.json besides the parameter's: a parameter cannot share one. */
export const BENCH_ROW_KEYS: readonly string[] = [...BENCH_COLUMNS, 'run_id', 'workflow_id', 'results_file', 'extra_args'];

/** Decimals shown in the table and the CSV; counts are whole numbers. */
const DECIMALS: Partial<Record<BenchColumn, number>> = { total_runtime_s: 2, avg_trial_time_s: 2, throughput_trials_per_min: 2, success_rate: 3 };

export interface BenchRow extends Record<BenchColumn, number | null> {
  /** The parameter's value, as given in `--values`. */
  value: string;
  trials: number;
  /** The sweep's `runtime_seconds`: first dispatch to last result, cooldowns inside it included. */
  total_runtime_s: number;
  /** Mean runtime of the successful trials; null when none succeeded. */
  avg_trial_time_s: number | null;
  throughput_trials_per_min: number;
  success_rate: number;
  successful: number;
  failed: number;
  /** The sweep that measured it — its run id (its folder's name) and its workflow id — and where its records are. */
  run_id: string;
  workflow_id: string;
  results_file: string;
}

type SweepSummary = Pick<ResultsJson, 'run_id' | 'results_file' | 'total_jobs' | 'successful' | 'failed' | 'runtime_seconds'> &
  Partial<Pick<ResultsJson, 'workflow_id'>>;

/** One value's row, from its sweep's Results JSON and every job's record (results.jsonl). */
export function benchRow(value: string, sweep: SweepSummary, records: Pick<JobResult, 'success' | 'runtime'>[]): BenchRow {
  const runtimes = records.filter((record) => record.success).map((record) => record.runtime);
  return {
    value,
    trials: sweep.total_jobs,
    total_runtime_s: sweep.runtime_seconds,
    avg_trial_time_s: runtimes.length ? runtimes.reduce((sum, runtime) => sum + runtime, 0) / runtimes.length : null,
    throughput_trials_per_min: sweep.runtime_seconds > 0 ? (sweep.successful / sweep.runtime_seconds) * 60 : 0,
    success_rate: sweep.total_jobs > 0 ? sweep.successful / sweep.total_jobs : 0,
    successful: sweep.successful,
    failed: sweep.failed,
    run_id: sweep.run_id,
    workflow_id: sweep.workflow_id ?? sweep.run_id,
    results_file: sweep.results_file,
  };
}

/**
 * The value to use: the highest throughput with a success rate of at least `minSuccessRate`.
 * Throughputs equal as the table shows them (2 decimals) go to the higher success rate, then to
 * the value benchmarked first; undefined when no value succeeded often enough.
 */
export function recommend(rows: BenchRow[], minSuccessRate = MIN_SUCCESS_RATE): BenchRow | undefined {
  let best: BenchRow | undefined;
  for (const row of rows) {
    if (row.success_rate >= minSuccessRate && (!best || beats(row, best))) best = row;
  }
  return best;
}

function beats(row: BenchRow, best: BenchRow): boolean {
  const [mine, theirs] = [shownThroughput(row), shownThroughput(best)];
  return mine !== theirs ? mine > theirs : row.success_rate > best.success_rate;
}

function shownThroughput(row: BenchRow): number {
  const factor = 10 ** DECIMALS.throughput_trials_per_min!;
  return Math.round(row.throughput_trials_per_min * factor) / factor;
}

function cell(row: BenchRow, column: BenchColumn, empty: string): string {
  const value = row[column];
  if (value === null) return empty;
  const decimals = DECIMALS[column];
  return decimals === undefined ? String(value) : value.toFixed(decimals);
}

/** The table as aligned text lines: a header, then one right-aligned row per value. */
export function formatBenchTable(param: string, rows: BenchRow[]): string[] {
  const lines = [[param, ...BENCH_COLUMNS], ...rows.map((row) => [row.value, ...BENCH_COLUMNS.map((column) => cell(row, column, '-'))])];
  const widths = lines[0].map((_, i) => Math.max(...lines.map((line) => line[i].length)));
  return lines.map((line) => line.map((text, i) => text.padStart(widths[i])).join('  '));
}

/** The same table as CSV, with the numbers as the table shows them (an empty cell for none). */
export function benchCsv(param: string, rows: BenchRow[]): string {
  const csvCell = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const lines = [[param, ...BENCH_COLUMNS], ...rows.map((row) => [row.value, ...BENCH_COLUMNS.map((column) => cell(row, column, ''))])];
  return lines.map((line) => line.map(csvCell).join(',')).join('\n') + '\n';
}

/** `recommended: sample_size=450 (15.20 trials/min, success 1.000)`, or why there is none. */
export function recommendationLine(param: string, rows: BenchRow[], minSuccessRate = MIN_SUCCESS_RATE): string {
  const best = recommend(rows, minSuccessRate);
  if (best) return `recommended: ${param}=${best.value} (${cell(best, 'throughput_trials_per_min', '')} trials/min, success ${cell(best, 'success_rate', '')})`;
  if (rows.length === 0) return 'recommended: none (no value was benchmarked)';
  return `recommended: none (no ${param} value reached a success rate of ${minSuccessRate})`;
}

/** `350` stays a number in JSON, anything else a string. */
function jsonValue(value: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(value) && Number.isFinite(Number(value)) ? Number(value) : value;
}

export interface BenchRunInfo {
  values: string[];
  extraArgs: Record<string, string[]>;
  cooldownSeconds: number;
  /** False when the bench stopped before every value ran (Ctrl-C, a failed sweep). */
  complete: boolean;
}

/** bench_results.json: the rows keyed by the parameter's name, as the CSV, plus how they were run. */
export function benchJson(param: string, rows: BenchRow[], run: BenchRunInfo, minSuccessRate = MIN_SUCCESS_RATE) {
  const best = recommend(rows, minSuccessRate);
  return {
    param,
    values: run.values.map(jsonValue),
    complete: run.complete,
    cooldown_seconds: run.cooldownSeconds,
    min_success_rate: minSuccessRate,
    rows: rows.map(({ value, ...rest }) => ({ [param]: jsonValue(value), ...rest, extra_args: run.extraArgs[value] })),
    recommended: best ? { [param]: jsonValue(best.value), throughput_trials_per_min: best.throughput_trials_per_min, success_rate: best.success_rate } : null,
  };
}
