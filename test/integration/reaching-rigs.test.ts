/**
 * How rigsweep reaches rigs, through the real CLI and sshd rigs: OpenSSH's ~/.ssh/config, strict
 * host keys, pre-flight (HIP cache, warm-ups, an unreachable node) and a reset that fails (a
 * warning, never fatal).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeConfig } from '../../src/shared/config';
import { readTrialRecords, type TestRigs } from '../harness/rigs';
import { recordHistory, runCli, type CliEnv, sweepArgs } from '../harness/cli';
import { fakeTrialJobs, startTestCluster, writeJobs, writeUserConfig } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let configNodes: NodeConfig[];

beforeAll(async () => {
  ({ work, rigs, env, configNodes } = await startTestCluster('ssh', inject('temporalAddress'), { rigCount: 2, localGpus: 2, rigGpus: 2, stagger: 0.2 }));
});

afterAll(async () => {
  await rigs?.stop();
});

const jobs = (prefix: string, count: number, sleep = '0.2') => fakeTrialJobs(prefix, count, sleep);

describe('reaching rigs as OpenSSH does', () => {
  it('follows a ~/.ssh/config alias to its HostName and User', async () => {
    writeFileSync(join(rigs.home, '.ssh', 'config'), `Host gpu-rig-a\n  HostName ${rigs.rigs[0].address}\n  User ${rigs.user}\n`);
    const { username: _username, ...aliased } = configNodes[1];
    const config = writeUserConfig(work, 'alias.json', { nodes: [{ ...aliased, hostname: 'gpu-rig-a' }] });
    const run = await runCli(sweepArgs('run', writeJobs(work, 'alias-jobs.json', jobs('alias', 2)), config, join(work, 'results')), env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results!.jobs.map((j) => j.node)).toEqual(['gpu-rig-a', 'gpu-rig-a']);
    const starts = readTrialRecords(rigs.rigs[0].workDir).filter((r) => r.event === 'start' && r.argv[1]?.startsWith('alias'));
    expect(starts.map((r) => r.node)).toEqual([rigs.rigs[0].address, rigs.rigs[0].address]);
  });

  it('refuses a rig whose host key is not in known_hosts, saying which line to add, and runs nothing there', async () => {
    const home = join(work, 'home-without-rig2');
    cpSync(rigs.home, home, { recursive: true });
    execFileSync('ssh-keygen', ['-R', rigs.rigs[1].address, '-f', join(home, '.ssh', 'known_hosts')], { stdio: 'ignore' });
    const expectHostKeyMessage = (text: string | null) => {
      expect(text).toContain(rigs.rigs[1].address);
      expect(text).toContain('known_hosts');
      expect(text).toMatch(/ssh-ed25519 AAAA/);
    };
    // Pre-flight on (the default): the rig is left out, its jobs run on the trusted rig.
    const both = writeUserConfig(work, 'both-rigs.json', { nodes: [configNodes[1], configNodes[2]] });
    const run = await runCli(sweepArgs('run', writeJobs(work, 'hostkey-jobs.json', jobs('hostkey', 2)), both, join(work, 'results')), { ...env, home });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results!.jobs.map((j) => j.node)).toEqual([rigs.rigs[0].address, rigs.rigs[0].address]);
    expect(run.results!.warnings).toHaveLength(1);
    expectHostKeyMessage(run.results!.warnings[0]);
    // Pre-flight off: every job sent there fails with SSH_ERROR and the same message, not retried.
    const alone = writeUserConfig(work, 'rig2-only.json', { nodes: [configNodes[2]], preflight: { enabled: false } });
    const refused = await runCli(sweepArgs('run', writeJobs(work, 'hostkey-jobs2.json', jobs('refused', 2)), alone, join(work, 'results')), { ...env, home });
    expect(refused.exitCode, refused.stderr).toBe(1);
    for (const job of refused.results!.jobs) {
      expect(job).toMatchObject({ failure_mode: 'SSH_ERROR', attempt: 1 });
      expectHostKeyMessage(job.error);
    }
    expect(readTrialRecords(rigs.rigs[1].workDir).filter((r) => /^(hostkey|refused)/.test(r.argv[1] ?? ''))).toEqual([]);
  });
});

describe('pre-flight, once per run', () => {
  it('reports every node, clears the HIP kernel cache on ROCm rigs and warms up one GPU at a time', async () => {
    const cache = `/home/${rigs.user}/.cache/hip`;
    execFileSync('runuser', ['-u', rigs.user, '--', 'sh', '-c', `mkdir -p ${cache} && echo stale > ${cache}/kernel.bin`]);
    const warmup = 'python3 fake_trial.py --job warmup-{gpu} --sleep 0.3 --gpu-id {gpu}';
    const config = writeUserConfig(work, 'preflight.json', { nodes: [configNodes[0], { ...configNodes[1], warmup_command: warmup }] });
    const run = await runCli(sweepArgs('run', writeJobs(work, 'preflight-jobs.json', jobs('pre', 4)), config, join(work, 'results')), env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(existsSync(cache)).toBe(false);
    const rig = rigs.rigs[0].address;
    expect(run.stdout).toMatch(new RegExp(`^\\[PREFLIGHT\\] ${rig.replace(/\./g, '\\.')}: reachable \\(\\d+ ms\\), HIP kernel cache cleared$`, 'm'));
    expect(run.stdout).toMatch(/^\[PREFLIGHT\] localhost: reachable \(\d+ ms\)$/m);
    expect(run.stdout).toMatch(new RegExp(`^\\[WARMUP\\] ${rig.replace(/\./g, '\\.')}:GPU1 warm-up done`, 'm'));
    expect(run.results!.preflight.map((c) => [c.node, c.reachable, c.hip_cache_cleared])).toEqual([
      ['localhost', true, null],
      [rig, true, true],
    ]);
    await recordHistory(env, run.results!.workflow_id, 'preflight-warmup');
    const records = readTrialRecords(rigs.rigs[0].workDir);
    const warmups = records.filter((r) => r.argv[1]?.startsWith('warmup-'));
    const [w0s, w0e, w1s, w1e] = ['warmup-0', 'warmup-1'].flatMap((id) =>
      ['start', 'end'].map((event) => warmups.find((r) => r.argv[1] === id && r.event === event)!),
    );
    expect([w0s.env.CUDA_VISIBLE_DEVICES, w1s.env.HIP_VISIBLE_DEVICES]).toEqual(['0', '1']);
    expect(w1s.proc_start!).toBeGreaterThanOrEqual(w0e.t); // one GPU at a time
    const firstJob = Math.min(...records.filter((r) => r.event === 'start' && r.argv[1]?.startsWith('pre')).map((r) => r.proc_start!));
    expect(firstJob).toBeGreaterThanOrEqual(w1e.t);
  });

  it('leaves an unreachable node out with a warning (its jobs run elsewhere), or fails when asked to', async () => {
    const phantom = { ...configNodes[2], hostname: '10.231.0.99' };
    const config = writeUserConfig(work, 'phantom.json', { nodes: [configNodes[1], phantom] });
    const run = await runCli(sweepArgs('run', writeJobs(work, 'phantom-jobs.json', jobs('ph', 3)), config, join(work, 'results')), env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results!.jobs.map((j) => j.node)).toEqual([rigs.rigs[0].address, rigs.rigs[0].address, rigs.rigs[0].address]);
    expect(run.results!.warnings).toEqual([expect.stringMatching(/^pre-flight: 10\.231\.0\.99 left out of this sweep: unreachable/)]);
    expect(run.stdout).toMatch(/^\[PREFLIGHT\] 10\.231\.0\.99: unreachable/m);
    await recordHistory(env, run.results!.workflow_id, 'preflight-node-left-out');
    const strict = writeUserConfig(work, 'phantom-strict.json', { nodes: [configNodes[1], phantom], preflight: { required: true } });
    const failed = await runCli(sweepArgs('run', writeJobs(work, 'phantom-jobs2.json', jobs('strict', 2)), strict, join(work, 'results')), env);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('pre-flight failed: 10.231.0.99');
    expect(readTrialRecords(rigs.rigs[0].workDir).filter((r) => r.argv[1]?.startsWith('strict'))).toEqual([]);
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
      const run = await runCli(sweepArgs('run', writeJobs(work, 'reset-jobs.json', jobs('reset', 3)), config, join(work, 'results')), env);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.results).toMatchObject({ successful: 3, batches: 2 });
      expect(run.results!.warnings).toEqual([
        `before batch 2: ${rigs.rigs[0].address}: reset failed: sudo: a password is required (see README: the sudoers line for drop_caches)`,
      ]);
      expect(run.stdout).toContain(`[RESET] ${rigs.rigs[1].address}: caches dropped`);
      await recordHistory(env, run.results!.workflow_id, 'two-batches-reset-warning');
    } finally {
      rmSync(refuse);
    }
  });
});
