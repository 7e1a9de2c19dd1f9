import { describe, expect, it } from 'vitest';
import { judgeOutput, parseOutputProbe, parsePythonJson } from '../../src/rigs/output-check';

const start = 1_700_000_000_000_000_000n;
const probe = (text: string, mtimeNs = start + 1_000_000_000n) => parseOutputProbe(`${mtimeNs}\n${Buffer.byteLength(text)}\n${text}`);

describe('judging a trial output file', () => {
  it('accepts a fresh JSON result, including Python -Infinity and NaN', () => {
    expect(judgeOutput(probe('{"accuracy": -Infinity, "loss": NaN, "status": "success"}'), 'o.json', start)).toEqual({ ok: true });
    expect(parsePythonJson('{"a": -Infinity}')).toEqual({ a: -Infinity });
  });

  it('treats "pruned" as a completed trial and "error"/"failed" as TRIAL_ERROR', () => {
    expect(judgeOutput(probe('{"status": "pruned"}'), 'o.json', start).ok).toBe(true);
    expect(judgeOutput(probe('{"status": "error", "error": "CUDA OOM", "accuracy": -Infinity}'), 'o.json', start)).toEqual({
      ok: false,
      mode: 'TRIAL_ERROR',
      error: 'trial reported status "error": CUDA OOM',
    });
    expect(judgeOutput(probe('{"status": "failed"}'), 'o.json', start)).toMatchObject({ mode: 'TRIAL_ERROR' });
  });

  it('calls a file older than the attempt STALE_OUTPUT, whatever it says', () => {
    expect(judgeOutput(probe('{"status": "success"}', start - 60_000_000_000n), 'o.json', start)).toMatchObject({ ok: false, mode: 'STALE_OUTPUT' });
  });

  it('tells missing, empty and invalid files apart', () => {
    expect(judgeOutput(parseOutputProbe('MISSING\n'), 'o.json', start)).toMatchObject({ mode: 'FILE_MISSING' });
    expect(judgeOutput(probe(''), 'o.json', start)).toMatchObject({ mode: 'FILE_EMPTY' });
    expect(judgeOutput(probe('{"status": '), 'o.json', start)).toMatchObject({ mode: 'INVALID_JSON' });
    expect(judgeOutput(probe('hello'), 'o.json', start)).toMatchObject({ mode: 'INVALID_JSON' });
  });
});
