/**
 * `extraArgs` of a sweep input (what `rigsweep bench` varies) reach every job's command line as
 * separate arguments, byte for byte, whatever they hold — checked through a real /bin/sh.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/inputs/input-error';
import { loadJobRange, loadJobsFile, trialJobs } from '../../src/inputs/load-jobs';
import { planSweep } from '../../src/inputs/plan-sweep';
import { buildJobCommand } from '../../src/rigs/command';
import type { SweepNode } from '../../src/shared/nodes';

const work = mkdtempSync(join(tmpdir(), 'rigsweep-extra-args-'));
const HOSTILE = ['$(touch pwned1)', '`touch pwned2`', 'a;touch pwned3', "it's", '"q"', 'new\nline', '{trial}', '}}{', '$HOME', '', '*', '--sample-size', '350'];
const node: SweepNode = {
  name: 'rig',
  hostname: 'rig',
  scriptPath: work,
  pythonEnv: '/unused',
  gpuCount: 1,
  maxConcurrent: 1,
  staggerSeconds: 0,
  isLocal: true,
  isRocm: false,
};

/** The arguments a command line delivered, as `printf '%s\0'` saw them. */
function deliveredArgs(command: string): string[] {
  const output = execFileSync('/bin/sh', ['-c', command], { cwd: '/', encoding: 'utf8' });
  return output
    .slice(output.indexOf('\n') + 1)
    .split('\0')
    .slice(0, -1);
}

describe('extraArgs', () => {
  it('follow a trial_command as separate words, byte for byte, running nothing in them', () => {
    const source = { kind: 'trials' as const, command: "printf '%s\\0' {trial} --gpu {gpu}", timeout: 10, extraArgs: HOSTILE };
    const [job] = trialJobs(source, 7, 8);
    expect(deliveredArgs(buildJobCommand(job, { node, gpu: 2, runId: 'r' }))).toEqual(['7', '--gpu', '2', ...HOSTILE]);
    for (const name of ['pwned1', 'pwned2', 'pwned3']) expect(existsSync(join(work, name))).toBe(false);
  });

  it('leave a trial_command as it was when there are none', () => {
    const source = { kind: 'trials' as const, command: 'python3 t.py {trial}', timeout: 10 };
    expect(trialJobs(source, 0, 1)[0]).toMatchObject({ command: 'python3 t.py {trial}' });
    expect(trialJobs({ ...source, extraArgs: [] }, 0, 1)[0]).toMatchObject({ command: 'python3 t.py {trial}' });
  });

  it('are appended to the args of every job of a jobs file or an inline list, before --gpu-id', async () => {
    const jobs = [
      { job_id: 'a', script: 's.py', args: ['1'] },
      { job_id: 'b', script: 's.py' },
    ];
    const path = join(work, 'jobs.json');
    writeFileSync(path, JSON.stringify(jobs));
    const { digest } = await loadJobsFile(path);
    const fromFile = await loadJobRange({ kind: 'file', path, digest, extraArgs: HOSTILE }, 0, 2);
    const inline = await loadJobRange({ kind: 'inline', extraArgs: HOSTILE }, 0, 2, jobs);
    for (const loaded of [fromFile, inline]) expect(loaded.map((job) => job.kind === 'script' && job.args)).toEqual([['1', ...HOSTILE], HOSTILE]);
    // A stand-in interpreter that prints the arguments it was given.
    const echoPython = join(work, 'echo-python');
    writeFileSync(echoPython, '#!/bin/sh\nprintf "%s\\0" "$@"\n', { mode: 0o755 });
    const command = buildJobCommand(inline[1], { node: { ...node, pythonEnv: echoPython }, gpu: 0, runId: 'r' });
    expect(deliveredArgs(command)).toEqual(['-u', 's.py', ...HOSTILE, '--gpu-id', '0']);
    for (const name of ['pwned1', 'pwned2', 'pwned3']) expect(existsSync(join(work, name))).toBe(false);
  });
});

describe('extraArgs in a sweep input', () => {
  const config = join(work, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({ nodes: [{ hostname: 'rig', username: 'u', gpu_count: 1, script_path: '/w', python_env: '/p' }], trial_command: 'x {trial}' }),
  );

  it("travel in the plan's job source only when given, so plans without them stay as they were", async () => {
    const plan = await planSweep({ trials: 2, extraArgs: ['--sample-size', 350] }, { sweepId: 'r', startedAt: new Date() }, { configFile: config, cwd: work });
    expect(plan.jobSource).toMatchObject({ kind: 'trials', extraArgs: ['--sample-size', '350'] });
    expect(Object.keys((await planSweep({ trials: 2 }, { sweepId: 'r', startedAt: new Date() }, { configFile: config, cwd: work })).jobSource)).not.toContain(
      'extraArgs',
    );
    expect(
      Object.keys((await planSweep({ trials: 2, extraArgs: [] }, { sweepId: 'r', startedAt: new Date() }, { configFile: config, cwd: work })).jobSource),
    ).not.toContain('extraArgs');
  });

  it('must be a list of strings or numbers; the error names the field', async () => {
    const error = await planSweep(
      { trials: 2, extraArgs: '--sample-size 350' },
      { sweepId: 'r', startedAt: new Date() },
      { configFile: config, cwd: work },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/^workflow input: extraArgs: /);
  });
});
