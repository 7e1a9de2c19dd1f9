/**
 * The node's own rules across sweeps, run for real with /bin/sh and flock in a folder of the
 * test's own: one job per GPU, a cap on jobs at once, start spacing, the quiet window of a reset,
 * and locks freed by the kernel when a job dies.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOB_TOKEN_VAR, killWaitingJobsCommand } from '../../src/rigs/command';
import { parseGoMarker, quietResetCommand, type StartPermit, startPermitCommand } from '../../src/rigs/node-permits';

interface HeldJob {
  /** Node time of the GO line, in seconds. */
  go: Promise<number>;
  pid: number;
  ended: Promise<void>;
}

/** A job that takes its permit in `dir`, prints GO, then holds it for `holdSeconds` (as job `token`, if given). */
function holdPermit(dir: string, permit: Partial<StartPermit>, holdSeconds: number, token?: string): HeldJob {
  const job = token ? `exec env ${JOB_TOKEN_VAR}=${token} sleep ${holdSeconds}` : `exec sleep ${holdSeconds}`;
  const command = `${startPermitCommand({ gpu: 0, slots: 8, spacingSeconds: 0, ...permit }, dir)}; ${job}`;
  const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const go = new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const marker = parseGoMarker(text.split('\n')[0]);
      if (marker) resolve(Number(marker.nodeTimeNs) / 1e9);
    });
    child.once('close', () => reject(new Error('ended without GO')));
  });
  const ended = new Promise<void>((resolve) => child.once('close', () => resolve()));
  go.catch(() => undefined); // a job killed while it waits never says GO
  return { go, pid: child.pid!, ended };
}

const freshDir = () => mkdtempSync(join(tmpdir(), 'rigsweep-permits-'));

describe('start permits on a node', () => {
  it('runs one job per GPU: a second job on the GPU starts when the first has ended', async () => {
    const dir = freshDir();
    const first = holdPermit(dir, { gpu: 0 }, 0.6);
    const firstGo = await first.go;
    const second = holdPermit(dir, { gpu: 0 }, 0);
    const otherGpu = holdPermit(dir, { gpu: 1 }, 0);
    expect(await otherGpu.go).toBeLessThan(firstGo + 0.4);
    expect(await second.go).toBeGreaterThanOrEqual(firstGo + 0.6);
  });

  it('runs at most `slots` jobs at once on the node, whatever their GPUs', async () => {
    const dir = freshDir();
    const first = holdPermit(dir, { gpu: 0, slots: 1 }, 0.6);
    const firstGo = await first.go;
    expect(await holdPermit(dir, { gpu: 1, slots: 1 }, 0).go).toBeGreaterThanOrEqual(firstGo + 0.6);
  });

  it('spaces starts on the node by the stagger, across GPUs', async () => {
    const dir = freshDir();
    const jobs = [0, 1, 2].map((gpu) => holdPermit(dir, { gpu, spacingSeconds: 0.4 }, 0));
    const starts = (await Promise.all(jobs.map((job) => job.go))).sort();
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(0.4);
    expect(starts[2] - starts[1]).toBeGreaterThanOrEqual(0.4);
  });

  it('starts nothing during a reset and its cooldown', async () => {
    const dir = freshDir();
    execFileSync('/bin/sh', ['-c', quietResetCommand('sleep 0.3', 0.8, dir)]);
    const resetEnded = Date.now() / 1000;
    expect(await holdPermit(dir, { gpu: 3 }, 0).go).toBeGreaterThanOrEqual(resetEnded + 0.75);
  });

  it("keeps the reset's exit code", () => {
    let status: number | undefined;
    try {
      execFileSync('/bin/sh', ['-c', quietResetCommand('exit 4', 0, freshDir())], { stdio: 'ignore' });
    } catch (error) {
      status = (error as { status?: number }).status;
    }
    expect(status).toBe(4);
  });

  it('creates the slots a sweep needs when another sweep used fewer', async () => {
    const dir = freshDir();
    await holdPermit(dir, { gpu: 0, slots: 1 }, 0).go;
    const holders = [holdPermit(dir, { gpu: 0, slots: 3 }, 0.5), holdPermit(dir, { gpu: 1, slots: 3 }, 0.5), holdPermit(dir, { gpu: 2, slots: 3 }, 0.5)];
    const starts = await Promise.all(holders.map((job) => job.go));
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(0.45); // all three at once: three slots
  });

  it('frees the GPU at once when the job holding it is killed', async () => {
    const dir = freshDir();
    const holder = holdPermit(dir, { gpu: 0 }, 30);
    const heldFrom = await holder.go;
    process.kill(-holder.pid, 'SIGKILL');
    await holder.ended;
    expect(await holdPermit(dir, { gpu: 0 }, 0).go).toBeLessThan(heldFrom + 5);
  });

  it("kills only the given run's jobs waiting for the given GPU: not other runs', other GPUs', nor the running job", async () => {
    const dir = freshDir();
    const running = holdPermit(dir, { gpu: 0 }, 30, 'run-a/j0');
    const otherGpuRunning = holdPermit(dir, { gpu: 1 }, 30, 'run-a/j1');
    await Promise.all([running.go, otherGpuRunning.go]);
    const standby = holdPermit(dir, { gpu: 0 }, 30, 'run-a/j2');
    const otherRun = holdPermit(dir, { gpu: 0 }, 30, 'run-b/j0');
    const otherGpu = holdPermit(dir, { gpu: 1 }, 30, 'run-a/j3');
    const lookalike = holdPermit(dir, { gpu: 0 }, 30, 'run-ab/j4');
    await new Promise((resolve) => setTimeout(resolve, 300)); // all four wait on their GPU's lock
    execFileSync('/bin/sh', ['-c', killWaitingJobsCommand('run-a', 0, { dir })]);
    await standby.ended;
    const alive = (job: HeldJob) =>
      execFileSync('/bin/sh', ['-c', `kill -0 ${job.pid} 2>/dev/null && echo yes || echo no`])
        .toString()
        .trim();
    expect([running, otherGpuRunning, otherRun, otherGpu, lookalike].map(alive)).toEqual(['yes', 'yes', 'yes', 'yes', 'yes']);
    for (const job of [running, otherGpuRunning, otherRun, otherGpu, lookalike]) process.kill(-job.pid, 'SIGKILL');
  });

  it('kills one waiting job by its id, not a job whose id merely starts the same', async () => {
    const dir = freshDir();
    const running = holdPermit(dir, { gpu: 0 }, 30, 'run-a/j0');
    await running.go;
    const target = holdPermit(dir, { gpu: 0 }, 30, 'run-a/j1');
    const longerId = holdPermit(dir, { gpu: 0 }, 30, 'run-a/j10');
    await new Promise((resolve) => setTimeout(resolve, 300));
    execFileSync('/bin/sh', ['-c', killWaitingJobsCommand('run-a', 0, { jobId: 'j1', dir })]);
    await target.ended;
    expect(
      execFileSync('/bin/sh', ['-c', `kill -0 ${longerId.pid} && echo alive`])
        .toString()
        .trim(),
    ).toBe('alive');
    for (const job of [running, longerId]) process.kill(-job.pid, 'SIGKILL');
  });
});
