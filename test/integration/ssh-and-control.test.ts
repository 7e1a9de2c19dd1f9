/**
 * How rigsweep reaches rigs and lets go of them, through the real CLI and sshd rigs: OpenSSH's
 * ~/.ssh/config, strict host keys, a reset that fails (a warning, never fatal), and Ctrl-C, which
 * cancels the sweep and leaves no trial process behind.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readTrialRecords, startRigs, type TestRigs } from '../harness/rigs';
import { clusterNodes, runCli, writeJobs, writeUserConfig, type CliEnv } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let configNodes: Record<string, any>[];

const jobs = (prefix: string, count: number, sleep = '0.2') =>
  Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', sleep, '--output', `out/${prefix}${i}.json`],
    expected_output: `out/${prefix}${i}.json`,
  }));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-it3-'));
  chmodSync(work, 0o755);
  rigs = await startRigs({ count: 2, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `it-ssh-${process.pid}`, home: rigs.home };
  configNodes = clusterNodes(rigs, { localGpus: 2, rigGpus: 2, stagger: 0.2 }).configNodes;
});

afterAll(async () => {
  await rigs?.stop();
});

describe('reaching rigs as OpenSSH does', () => {
  it('follows a ~/.ssh/config alias to its HostName and User', async () => {
    writeFileSync(join(rigs.home, '.ssh', 'config'), `Host gpu-rig-a\n  HostName ${rigs.rigs[0].address}\n  User ${rigs.user}\n`);
    const { username, ...aliased } = configNodes[1];
    const config = writeUserConfig(work, 'alias.json', { nodes: [{ ...aliased, hostname: 'gpu-rig-a' }] });
    const run = await runCli(['run', '--jobs-file', writeJobs(work, 'alias-jobs.json', jobs('alias', 2)), '--config', config, '--output-dir', join(work, 'results')], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results.jobs.map((j: any) => j.node)).toEqual(['gpu-rig-a', 'gpu-rig-a']);
    const starts = readTrialRecords(rigs.rigs[0].workDir).filter((r) => r.event === 'start' && r.argv[1]?.startsWith('alias'));
    expect(starts.map((r) => r.node)).toEqual([rigs.rigs[0].address, rigs.rigs[0].address]);
  });

  it('refuses a rig whose host key is not in known_hosts, saying which line to add, and runs nothing there', async () => {
    const home = join(work, 'home-without-rig2');
    cpSync(rigs.home, home, { recursive: true });
    execFileSync('ssh-keygen', ['-R', rigs.rigs[1].address, '-f', join(home, '.ssh', 'known_hosts')], { stdio: 'ignore' });
    const config = writeUserConfig(work, 'rig2-only.json', { nodes: [configNodes[2]] });
    const run = await runCli(['run', '--jobs-file', writeJobs(work, 'hostkey-jobs.json', jobs('hostkey', 2)), '--config', config, '--output-dir', join(work, 'results')], { ...env, home });
    expect(run.exitCode, run.stderr).toBe(1);
    for (const job of run.results.jobs) {
      expect(job.failure_mode).toBe('SSH_ERROR');
      expect(job.error).toContain(rigs.rigs[1].address);
      expect(job.error).toContain('known_hosts');
      expect(job.error).toMatch(/ssh-ed25519 AAAA/);
    }
    expect(readTrialRecords(rigs.rigs[1].workDir).filter((r) => r.argv[1]?.startsWith('hostkey'))).toEqual([]);
  });
});

describe('the reset between batches', () => {
  it('is a warning in the result when sudo refuses, never fatal', async () => {
    const refuse = join(rigs.rigs[0].diskDir, 'sudo-fails');
    writeFileSync(refuse, '');
    try {
      const config = writeUserConfig(work, 'two-batches.json', {
        nodes: configNodes.slice(1),
        job_batching: { max_jobs_per_batch: 2, max_jobs_per_node_per_batch: 1, inter_batch_cooldown_seconds: 0.5 },
      });
      const run = await runCli(['run', '--jobs-file', writeJobs(work, 'reset-jobs.json', jobs('reset', 3)), '--config', config, '--output-dir', join(work, 'results')], env);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.results).toMatchObject({ successful: 3, batches: 2 });
      expect(run.results.warnings).toEqual([`before batch 2: ${rigs.rigs[0].address}: reset failed: sudo: a password is required (see README: the sudoers line for drop_caches)`]);
      expect(run.stdout).toContain(`[RESET] ${rigs.rigs[1].address}: caches dropped`);
    } finally {
      rmSync(refuse);
    }
  });
});

describe('Ctrl-C on rigsweep run', () => {
  it('cancels the sweep, kills every trial process on every node and exits 3', async () => {
    const config = writeUserConfig(work, 'cancel.json', { nodes: configNodes });
    const workDirs = [rigs.localWorkDir, ...rigs.rigs.map((rig) => rig.workDir)];
    const started = () => workDirs.flatMap((dir) => readTrialRecords(dir)).filter((r) => r.event === 'start' && r.argv[1]?.startsWith('cancel'));
    let interruptedAt = 0;
    const run = await runCli(['run', '--jobs-file', writeJobs(work, 'cancel-jobs.json', jobs('cancel', 6, '120')), '--config', config, '--output-dir', join(work, 'results')], env, {
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (started().length >= 6) {
            clearInterval(poll);
            interruptedAt = Date.now();
            child.kill('SIGINT');
          }
        }, 200);
      },
    });
    expect(run.exitCode, run.stderr).toBe(3);
    expect(Date.now() - interruptedAt).toBeLessThan(15_000);
    const pids = started().map((r) => r.pid);
    expect(pids).toHaveLength(6);
    const alive = pids.filter((pid) => existsSync(`/proc/${pid}`) && !readStat(pid).startsWith('Z'));
    expect(alive).toEqual([]);
  });
});

function readStat(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return 'Z';
  }
}
