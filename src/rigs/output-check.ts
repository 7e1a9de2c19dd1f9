/**
 * Judges a job's output file the way users need it judged (where the seed lied): written by this
 * attempt, non-empty, JSON as Python writes it (NaN/Infinity allowed), and not reporting an error.
 */
import JSON5 from 'json5';
import type { FailureMode } from '../shared/results';
import { shellWord } from './command';

/** Bytes of the output file read back: trial results are small; this bounds a runaway file. */
export const OUTPUT_READ_LIMIT = 1024 * 1024;

/** A node-side command printing `<mtime epoch ns>\n<size>\n<first bytes>` or `MISSING`. */
export function outputProbeCommand(scriptPath: string, outputFile: string): string {
  const file = shellWord(outputFile);
  return `cd ${shellWord(scriptPath)} || exit 97; if [ ! -f ${file} ]; then echo MISSING; exit 0; fi; date -r ${file} +%s%N; wc -c < ${file}; head -c ${OUTPUT_READ_LIMIT} ${file}`;
}

export interface OutputProbe {
  missing: boolean;
  mtimeNs: bigint;
  size: number;
  text: string;
}

export function parseOutputProbe(stdout: string): OutputProbe {
  if (stdout.trim() === 'MISSING') return { missing: true, mtimeNs: 0n, size: 0, text: '' };
  const first = stdout.indexOf('\n');
  const second = stdout.indexOf('\n', first + 1);
  return {
    missing: false,
    mtimeNs: BigInt(stdout.slice(0, first).trim()),
    size: Number(stdout.slice(first + 1, second).trim()),
    text: stdout.slice(second + 1),
  };
}

/**
 * Linux stamps files from a coarse clock that may lag the precise clock the start marker reads by
 * up to one tick (≤ 10 ms); a file written by this attempt can therefore look a few ms older.
 */
const COARSE_CLOCK_SLACK_NS = 20_000_000n;

export type OutputVerdict = { ok: true } | { ok: false; mode: FailureMode; error: string };

/** The output rules, in the order a user would diagnose them. */
export function judgeOutput(probe: OutputProbe, outputFile: string, attemptStartNs: bigint): OutputVerdict {
  if (probe.missing) return { ok: false, mode: 'FILE_MISSING', error: `${outputFile} was not written` };
  if (probe.mtimeNs + COARSE_CLOCK_SLACK_NS < attemptStartNs) {
    return { ok: false, mode: 'STALE_OUTPUT', error: `${outputFile} is older than this attempt (left from an earlier run)` };
  }
  if (probe.size === 0) return { ok: false, mode: 'FILE_EMPTY', error: `${outputFile} is empty` };
  let value: unknown;
  try {
    value = parsePythonJson(probe.text);
  } catch (error) {
    return { ok: false, mode: 'INVALID_JSON', error: `${outputFile} is not JSON: ${(error as Error).message}` };
  }
  const status = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).status : undefined;
  if (status === 'error' || status === 'failed') {
    const reason = (value as Record<string, unknown>).error;
    return {
      ok: false,
      mode: 'TRIAL_ERROR',
      error: `trial reported status "${status}"${reason ? `: ${typeof reason === 'string' ? reason : JSON.stringify(reason)}` : ''}`,
    };
  }
  return { ok: true };
}

/** Parses JSON as Python's json module writes it, which may contain NaN, Infinity and -Infinity. */
export function parsePythonJson(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) throw new Error('does not start with { or [');
  return JSON5.parse(trimmed);
}
