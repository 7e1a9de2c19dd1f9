import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildJobCommand, gpuEnvWords, killGroupCommand, killLeftoverCommand, parseStartMarker, renewLeaseCommand, shellWord } from '../../src/rigs/command';
import type { SweepJob } from '../../src/shared/jobs';
import type { SweepNode } from '../../src/shared/nodes';

const work = mkdtempSync(join(tmpdir(), 'rigsweep-cmd-'));
// A stand-in interpreter: prints its argv NUL-separated and the GPU env, so we see what arrived.
const echoPython = join(work, 'echo-python');
writeFileSync(
  echoPython,
  '#!/bin/sh\nprintf "%s\\0" "$@"; printf "ENV %s|%s|%s|%s\\n" "$CUDA_VISIBLE_DEVICES" "$HIP_VISIBLE_DEVICES" "$HSA_OVERRIDE_GFX_VERSION" "$PATH"\n',
  { mode: 0o755 },
);

const node = (isRocm: boolean): SweepNode => ({
  name: 'rig',
  hostname: 'rig',
  scriptPath: work,
  pythonEnv: echoPython,
  gpuCount: 8,
  maxConcurrent: 8,
  staggerSeconds: 2,
  isLocal: true,
  isRocm,
});
const nasty = ['$(touch pwned)', '`id`', 'a;b', "it's", '"double"', 'new\nline', '{"lr": -Infinity}', '', '*', '~', '$HOME', 'a\\b'];

function run(command: string): string {
  return execFileSync('/bin/sh', ['-c', command], { cwd: '/', encoding: 'utf8' });
}

describe('buildJobCommand', () => {
  it('passes every argument byte for byte and runs nothing inside them', () => {
    const job: SweepJob = { kind: 'script', job_id: 'j', script: 'trial.py', args: nasty, timeout: 10 };
    const output = run(buildJobCommand(job, { node: node(false), gpu: 3, runId: 'r' }));
    const [marker, ...rest] = output.split('\n');
    expect(parseStartMarker(marker)).toMatchObject({ pgid: expect.any(Number) as unknown });
    const argv = rest.join('\n').split('\0');
    expect(argv.slice(0, -1)).toEqual(['-u', 'trial.py', ...nasty, '--gpu-id', '3']);
    expect(argv.at(-1)).toMatch(/^ENV 3\|\|\|/);
  });

  it('sets the seed ROCm environment on ROCm nodes only', () => {
    const job: SweepJob = { kind: 'script', job_id: 'j', script: 'trial.py', args: [], timeout: 10 };
    expect(run(buildJobCommand(job, { node: node(true), gpu: 5, runId: 'r' }))).toMatch(/ENV 5\|5\|10\.3\.0\|\/opt\/rocm\/bin:\/opt\/rocm\/hip\/bin:/);
    expect(gpuEnvWords({ isRocm: false }, 1)).toEqual(['CUDA_VISIBLE_DEVICES=1']);
  });

  it('runs a trial_command as written, in script_path, with placeholders filled', () => {
    const job: SweepJob = {
      kind: 'trial',
      job_id: 'trial_0007',
      trial: 7,
      command: 'echo "$PWD {trial_id} gpu={gpu} $CUDA_VISIBLE_DEVICES {node} {run_id}"',
      timeout: 10,
    };
    const output = run(buildJobCommand(job, { node: node(false), gpu: 2, runId: 'sweep-x' }));
    expect(output.split('\n')[1]).toBe(`${work} 0007 gpu=2 2 rig sweep-x`);
  });

  it('keeps a ~/ path relative to the home of the node', () => {
    expect(run(`HOME=/tmp; echo ${shellWord('~/rocm env/bin/python')}`)).toBe('/tmp/rocm env/bin/python\n');
  });

  it('kills the whole process group, also children that ignore TERM', () => {
    const script = 'echo $$; trap "" TERM; sleep 30 & sleep 30 & wait';
    const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    return new Promise<void>((resolve) => {
      child.stdout.once('data', (chunk: Buffer) => {
        const pgid = Number(chunk.toString().trim());
        run(killGroupCommand(pgid, 1));
        // Zombies may linger until init reaps them; what must be gone is every live process.
        const live = execFileSync('ps', ['-e', '-o', 'pgid=,stat='], { encoding: 'utf8' })
          .split('\n')
          .filter((line) => Number(line.trim().split(/\s+/)[0]) === pgid && !line.trim().split(/\s+/)[1].startsWith('Z'));
        expect(live).toEqual([]);
        resolve();
      });
    });
  });

  it('kills a leftover only while its pgid is still this job, so a reused pid is never hit', async () => {
    const start = (token: string) => {
      const child = spawn('/bin/sh', ['-c', `exec env RIGSWEEP_JOB=${token} sleep 30`], { detached: true, stdio: 'ignore' });
      return {
        pgid: child.pid!,
        alive: () => child.exitCode === null && child.signalCode === null,
        exited: new Promise((resolve) => child.once('exit', resolve)),
      };
    };
    const other = start('run-1/job_8');
    const mine = start('run-1/job_7');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(run(killLeftoverCommand(other.pgid, 'run-1/job_7', 1))).toBe(''); // another job's group: left alone
    expect(run(killLeftoverCommand(mine.pgid, 'run-1/job_7', 1))).toBe('LEFTOVER\n');
    await mine.exited;
    expect(other.alive()).toBe(true);
    process.kill(-other.pgid, 'SIGKILL');
    expect(run(killLeftoverCommand(mine.pgid, 'run-1/job_7', 1))).toBe(''); // gone: nothing to do
  });

  it('marks every job with its run and job id in the environment', () => {
    const job: SweepJob = { kind: 'script', job_id: 'j 1', script: 's.py', args: [], timeout: 5 };
    expect(buildJobCommand(job, { node: node(false), gpu: 0, runId: 'r-1' })).toContain("exec env RIGSWEEP_JOB='r-1/j 1' CUDA_VISIBLE_DEVICES=0");
  });

  it('gives a rig job a lease: the rig kills it when nobody renews it, and leaves it alone while renewed', async () => {
    const script: SweepJob = { kind: 'trial', job_id: 'lease', trial: 0, command: 'sleep 30', timeout: 60 };
    const start = () => {
      const child = spawn('/bin/sh', ['-c', buildJobCommand(script, { node: node(false), gpu: 0, runId: 'r', leaseSeconds: 2 })], {
        detached: true,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const pgid = new Promise<number>((resolve) =>
        child.stdout.once('data', (chunk: Buffer) => resolve(parseStartMarker(chunk.toString().split('\n')[0])!.pgid)),
      );
      return { child, pgid, exited: new Promise<string | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal))) };
    };
    const abandoned = start();
    const renewed = start();
    const renewedPgid = await renewed.pgid;
    const renewing = setInterval(() => run(renewLeaseCommand(renewedPgid)), 500);
    try {
      expect(await abandoned.exited).toBe('SIGTERM'); // its lease ran out on the "rig"
      expect(renewed.child.exitCode === null && renewed.child.signalCode === null).toBe(true); // renewed: still running
    } finally {
      clearInterval(renewing);
      process.kill(-renewedPgid, 'SIGKILL');
    }
  }, 30_000);
});
