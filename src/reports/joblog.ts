/**
 * `joblog.tsv`, in the spirit of GNU parallel's `--joblog`: a header line, then one row per
 * attempt in start order, so `column -t -s $'\t' joblog.tsv`, `sort`, `awk` and spreadsheets can
 * answer "what ran where, when, and how did it end" without parsing JSON.
 */
import type { ReportAttempt } from './attempts';

export const JOBLOG_COLUMNS = [
  'Seq',
  'JobId',
  'Node',
  'GPU',
  'Batch',
  'Attempt',
  'Starttime',
  'JobRuntime',
  'Exitval',
  'Signal',
  'FailureMode',
  'Success',
  'Resumed',
] as const;

/** Shown for a value the attempt does not have (no exit code, no signal, no failure). */
export const NO_VALUE = '-';

/**
 * One field: tabs and line breaks would split the row, so every control character becomes a
 * space. An empty field becomes `-` because `column -t` merges adjacent separators and would
 * shift the columns after it.
 */
export function joblogField(value: string | number | null): string {
  if (value === null || (typeof value === 'number' && !Number.isFinite(value))) return NO_VALUE;
  // eslint-disable-next-line no-control-regex -- control characters are what this strips
  const controlCharacters = /[\u0000-\u001f\u007f]+/g;
  const text = String(value).replace(controlCharacters, ' ').trim();
  return text === '' ? NO_VALUE : text;
}

/** A row's fields; Starttime is epoch seconds and JobRuntime seconds, both with 3 decimals like parallel's. */
function joblogRow(attempt: ReportAttempt): (string | number | null)[] {
  return [
    attempt.seq,
    attempt.jobId,
    attempt.node,
    attempt.gpu,
    attempt.batch,
    attempt.attempt,
    Number.isFinite(attempt.startMs) ? (attempt.startMs / 1000).toFixed(3) : null,
    Number.isFinite(attempt.runtimeSeconds) ? attempt.runtimeSeconds.toFixed(3) : null,
    attempt.exitCode,
    attempt.signal,
    attempt.failureMode,
    attempt.success ? 1 : 0,
    attempt.resumed,
  ];
}

/** The whole file: header, then the attempts in the order given (start order from listAttempts). */
export function formatJoblog(attempts: ReportAttempt[]): string {
  const lines = [JOBLOG_COLUMNS.join('\t'), ...attempts.map((attempt) => joblogRow(attempt).map(joblogField).join('\t'))];
  return lines.join('\n') + '\n';
}
