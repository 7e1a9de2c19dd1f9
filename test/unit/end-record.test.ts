/**
 * The end record's pure parts: where a record lives (ids encoded so no id leaves its folder, and
 * no two ids share files), what parses as a record and what is ignored, and the commands that
 * clear records away, run for real under /bin/sh in a folder of the test's own.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodePathPart,
  jobFiles,
  parseEndRecord,
  parseReadEnd,
  pruneEndRecordsCommand,
  removeJobRecordsCommand,
  removeSweepRecordsCommand,
  sameOutput,
} from '../../src/rigs/end-record';

const HOSTILE = [
  '..',
  '.',
  '',
  '/',
  '../../etc/passwd',
  'a/b',
  'job 1',
  'new\nline',
  'tab\t',
  '\u0000nul',
  '\u001b[31m',
  '~',
  '*',
  '?',
  '[a]',
  '$(id)',
  '%2F',
  '%',
  'é',
  '🙂',
  '-rf',
];
const sha = 'a'.repeat(64);
const record = (lines: string[]) => ['rigsweep-end 1', ...lines, 'end', ''].join('\n');
const VALID = ['pgid 4242', 'exit 0', 'start_ns 1700000000000000000', 'end_ns 1700000009000000000', `output 12 1700000005000000000 ${sha}`];

describe('where an end record lives', () => {
  it('keeps every id inside its folder, as one component of safe characters', () => {
    const state = '/tmp/rigsweep-node';
    for (const id of HOSTILE) {
      const part = encodePathPart(id);
      expect(part, JSON.stringify(id)).toMatch(/^[A-Za-z0-9_%~-]+$/);
      expect(['.', '..']).not.toContain(part);
      const files = jobFiles(state, id, id, 1);
      for (const path of [files.record, files.stdout, files.stderr]) expect(dirname(resolve(path))).toBe(resolve(state, 'jobs', part));
      expect(dirname(resolve(files.dir))).toBe(resolve(state, 'jobs'));
    }
  });

  it('encodes as percent-encoding does (the standard decoder gives the id back), or names a long id by its digest', () => {
    for (const id of HOSTILE.filter((id) => id !== '')) expect(decodeURIComponent(encodePathPart(id))).toBe(id);
    const digest = (id: string) => createHash('sha256').update(Buffer.from(id, 'utf16le')).digest('hex');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (id) => {
        const part = encodePathPart(id);
        return part.includes('~') ? part.endsWith(`~${digest(id)}`) : decodeURIComponent(part) === id;
      }),
    );
  });

  it('gives distinct ids distinct names, also long ones and ones with lone surrogates, within file-name limits', () => {
    const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
    const ids = fc.uniqueArray(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: anyCodeUnit }), fc.string({ minLength: 90, maxLength: 300 })), {
      minLength: 2,
      maxLength: 30,
    });
    fc.assert(
      fc.property(ids, (list) => {
        const names = list.map(encodePathPart);
        expect(new Set(names).size).toBe(list.length);
        // `<job>.<attempt>.end.tmp` must fit in 255 bytes.
        for (const name of names) expect(name.length + '.999.end.tmp'.length).toBeLessThanOrEqual(255);
      }),
    );
    // Two ids that differ only past the cut, or only in a lone surrogate.
    const long = 'x'.repeat(200);
    expect(encodePathPart(`${long}a`)).not.toBe(encodePathPart(`${long}b`));
    expect(encodePathPart('\uD800')).not.toBe(encodePathPart('\uD801'));
  });

  it("names a job's files after its sweep, its id and its attempt", () => {
    expect(jobFiles('/s', 'sweep-1', 'job_7', 3)).toEqual({
      dir: '/s/jobs/sweep-1',
      record: '/s/jobs/sweep-1/job_7.3.end',
      stdout: '/s/jobs/sweep-1/job_7.3.out',
      stderr: '/s/jobs/sweep-1/job_7.3.err',
    });
    expect(jobFiles('/s', 'sw.1', 'a/b', 1).record).toBe('/s/jobs/sw%2E1/a%2Fb.1.end');
  });
});

describe('an end record', () => {
  it('parses with its exit, times and output', () => {
    expect(parseEndRecord(record(VALID))).toEqual({
      pgid: 4242,
      exitCode: 0,
      signal: null,
      startNs: 1700000000000000000n,
      endNs: 1700000009000000000n,
      output: { missing: false, size: 12, mtimeNs: 1700000005000000000n, sha256: sha },
      fenced: false,
    });
    const killed = record(['pgid 7', 'signal TERM', 'start_ns 1', 'end_ns 2', 'output missing', 'fenced']);
    expect(parseEndRecord(killed)).toMatchObject({ exitCode: null, signal: 'SIGTERM', output: { missing: true }, fenced: true });
    expect(parseEndRecord(record(['pgid 7', 'exit 3', 'start_ns 1', 'end_ns 2']))).not.toHaveProperty('output');
  });

  it('is ignored when it is anything but exactly a record', () => {
    const broken: Record<string, string> = {
      empty: '',
      'no header': VALID.join('\n') + '\nend\n',
      'another version': record(VALID).replace('rigsweep-end 1', 'rigsweep-end 2'),
      'cut short': record(VALID).replace('end\n', ''),
      'a repeated key': record([...VALID, 'exit 1']),
      'an unknown key': record([...VALID, 'note hi']),
      'no pgid': record(VALID.filter((line) => !line.startsWith('pgid'))),
      'no end time': record(VALID.filter((line) => !line.startsWith('end_ns'))),
      'exit and signal': record([...VALID, 'signal TERM']),
      'neither exit nor signal': record(VALID.filter((line) => !line.startsWith('exit'))),
      'exit above 255': record(VALID.map((line) => (line === 'exit 0' ? 'exit 256' : line))),
      'a negative time': record(VALID.map((line) => (line.startsWith('start_ns') ? 'start_ns -1' : line))),
      'pgid 0': record(VALID.map((line) => (line.startsWith('pgid') ? 'pgid 0' : line))),
      'a short digest': record(VALID.map((line) => (line.startsWith('output') ? `output 12 1 ${'a'.repeat(63)}` : line))),
      'an upper-case digest': record(VALID.map((line) => (line.startsWith('output') ? `output 12 1 ${'A'.repeat(64)}` : line))),
      'a lower-case signal': record(['pgid 7', 'signal term', 'start_ns 1', 'end_ns 2']),
      'fenced with a value': record([...VALID, 'fenced yes']),
      'carriage returns': record(VALID).replace(/\n/g, '\r\n'),
      'text after its end': record(VALID) + 'more\n',
    };
    for (const [why, text] of Object.entries(broken)) expect(parseEndRecord(text), why).toBeNull();
  });

  it('read back with its stderr tail counts only when it is of the process group asked for', () => {
    const stdout = `${record(VALID)}\nRIGSWEEP_STDERR_TAIL\nTraceback\nRIGSWEEP_STDERR_TAIL\n`;
    expect(parseReadEnd(stdout, 4242)).toMatchObject({ record: { pgid: 4242 }, stderrTail: 'Traceback\nRIGSWEEP_STDERR_TAIL\n' });
    expect(parseReadEnd(stdout, 4243)).toMatchObject({ record: null, stderrTail: 'Traceback\nRIGSWEEP_STDERR_TAIL\n' });
    expect(parseReadEnd('\nRIGSWEEP_STDERR_TAIL\noops', 1)).toEqual({ record: null, stderrTail: 'oops' });
  });

  it('says an output is the same only when size, mtime and digest all are', () => {
    const file = { missing: false as const, size: 12, mtimeNs: 5n, sha256: sha };
    expect(sameOutput(file, { ...file })).toBe(true);
    expect(sameOutput({ missing: true }, { missing: true })).toBe(true);
    expect(sameOutput(file, { ...file, size: 13 })).toBe(false);
    expect(sameOutput(file, { ...file, mtimeNs: 6n })).toBe(false);
    expect(sameOutput(file, { ...file, sha256: 'b'.repeat(64) })).toBe(false);
    expect(sameOutput(file, { missing: true })).toBe(false);
    expect(sameOutput(undefined, file)).toBe(false);
  });
});

describe('clearing records away', () => {
  const sh = (command: string) => execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' });
  const DAY_S = 24 * 3600;

  /** A state folder with every file of `jobs` (ids) in `sweeps`, attempts 1 and 2; `ageDays` back-dates them. */
  function stateWith(sweeps: string[], jobs: string[], ageDays = 0): string {
    const state = mkdtempSync(join(tmpdir(), 'rigsweep-records-'));
    for (const sweep of sweeps)
      for (const job of jobs)
        for (const attempt of [1, 2]) {
          const files = jobFiles(state, sweep, job, attempt);
          mkdirSync(files.dir, { recursive: true });
          for (const path of [files.record, files.stdout, files.stderr]) {
            writeFileSync(path, 'x');
            const at = Date.now() / 1000 - ageDays * DAY_S;
            utimesSync(path, at, at);
          }
        }
    return state;
  }
  /** The names of the files left in a sweep's folder. */
  function left(state: string, sweep: string): string[] {
    const { dir } = jobFiles(state, sweep, 'x', 1);
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  }

  it("removes the given jobs' files of one sweep, every attempt, and nothing else — hostile ids too", () => {
    const jobs = ['*', 'a', 'a.1', '..', 'job 1', 'ab'];
    const state = stateWith(['s1', 's2'], jobs);
    sh(removeJobRecordsCommand(state, 's1', ['*', '..', 'a']));
    const kept = ['a.1', 'job 1', 'ab'].flatMap((job) =>
      [1, 2].flatMap((attempt) => {
        const files = jobFiles(state, 's1', job, attempt);
        return [files.record, files.stdout, files.stderr].map((path) => basename(path));
      }),
    );
    expect(left(state, 's1')).toEqual(kept.sort());
    expect(left(state, 's2')).toHaveLength(jobs.length * 2 * 3);
    expect(sh(removeJobRecordsCommand(state, 's1', []))).toBe('');
  });

  it("removes all of one sweep's files, and no other sweep's", () => {
    const state = stateWith(['s1', 's1.', '../s1'], ['a']);
    sh(removeSweepRecordsCommand(state, 's1'));
    expect(left(state, 's1')).toEqual([]);
    expect(left(state, 's1.')).toHaveLength(6);
    expect(left(state, '../s1')).toHaveLength(6);
  });

  it('prunes what is older than 7 days, keeps what is younger', () => {
    const state = stateWith(['old'], ['a'], 7.1);
    const young = stateWith(['young'], ['a'], 6.9);
    execFileSync('cp', ['-a', jobFiles(young, 'young', 'x', 1).dir, jobFiles(state, 'young', 'x', 1).dir]);
    sh(pruneEndRecordsCommand(state));
    expect(left(state, 'old')).toEqual([]);
    expect(left(state, 'young')).toHaveLength(6);
    expect(sh(pruneEndRecordsCommand(join(state, 'nothing-here')))).toBe('');
  });
});
