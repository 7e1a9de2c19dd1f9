/**
 * How rigsweep reaches rigs and lets go of them, through the real CLI and sshd rigs: OpenSSH's
 * ~/.ssh/config, strict host keys, a reset that fails (a warning, never fatal), and the three ways
 * to cancel a sweep — Ctrl-C on `run`, `rigsweep cancel`, `temporal workflow cancel` — each of
 * which leaves no trial process behind. The cancels are fault tests: `npm run chaos` runs only them.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeConfig } from '../../src/shared/config';
import type { ResultsJson } from '../../src/shared/results';
import {
  type AfterCancel,
  type ChaosRow,
  inChaosRun,
  jobsFinishedButNotRecorded,
  jobsRunTwiceAtOnce,
  liveTrialProcesses,
  reportChaos,
  watchTrialsAfterCancel,
} from '../harness/chaos-report';
import { readJson } from '../harness/read-json';
import { readTrialRecords, startRigs, type TestRigs } from '../harness/rigs';
import {
  clusterNodes,
  collectRuns,
  recordHistory,
  runCli,
  startWorkerProcess,
  sweepResult,
  temporalCli,
  waitUntil,
  writeJobs,
  writeUserConfig,
  type CliEnv,
  type NodeUnderTest,
  type TrialRun,
  runFolder,
} from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configNodes: NodeConfig[];

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
  ({ nodes, configNodes } = clusterNodes(rigs, { localGpus: 2, rigGpus: 2, stagger: 0.2 }));
});

/** Every run of the jobs named `<prefix><n>` on every node, from the nodes' own records. */
const runsOf = (prefix: string) => collectRuns(nodes).filter((run) => new RegExp(`^${prefix}\\d+$`).test(run.jobId));

/** From the moment of the cancel: how long until no trial process of `prefix` runs, and how many outlived 15 s. */
const watchAfterCancel = (prefix: string, cancelledAtMs: number) =>
  watchTrialsAfterCancel(
    () =>
      liveTrialProcesses(
        runsOf(prefix).map((run) => run.startRecord.pid),
        prefix,
      ),
    cancelledAtMs,
  );

/** One chaos row per cancel, returned for the test to assert on: zero lost, twice at once and left behind. */
async function reportCancel(fault: string, prefix: string, jobCount: number, workflowId: string, after: AfterCancel): Promise<ChaosRow> {
  const row = {
    fault,
    jobs: jobCount,
    lost: await jobsFinishedButNotRecorded(runsOf(prefix), runFolder(join(work, 'results'), workflowId)),
    twiceAtOnce: jobsRunTwiceAtOnce(runsOf(prefix)),
    orphans: after.orphans,
    recoverSeconds: after.goneAfterSeconds,
  };
  reportChaos(row);
  return row;
}

afterAll(async () => {
  await rigs?.stop();
});

describe.skipIf(inChaosRun)('reaching rigs as OpenSSH does', () => {
  it('follows a ~/.ssh/config alias to its HostName and User', async () => {
    writeFileSync(join(rigs.home, '.ssh', 'config'), `Host gpu-rig-a\n  HostName ${rigs.rigs[0].address}\n  User ${rigs.user}\n`);
    const { username: _username, ...aliased } = configNodes[1];
    const config = writeUserConfig(work, 'alias.json', { nodes: [{ ...aliased, hostname: 'gpu-rig-a' }] });
    const run = await runCli(
      [
        'run',
        '--jobs-file',
        writeJobs(work, 'alias-jobs.json', jobs('alias', 2)),
        '--preserve-paths',
        '--config',
        config,
        '--output-dir',
        join(work, 'results'),
      ],
      env,
    );
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
    const run = await runCli(
      [
        'run',
        '--jobs-file',
        writeJobs(work, 'hostkey-jobs.json', jobs('hostkey', 2)),
        '--preserve-paths',
        '--config',
        both,
        '--output-dir',
        join(work, 'results'),
      ],
      { ...env, home },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results!.jobs.map((j) => j.node)).toEqual([rigs.rigs[0].address, rigs.rigs[0].address]);
    expect(run.results!.warnings).toHaveLength(1);
    expectHostKeyMessage(run.results!.warnings[0]);
    // Pre-flight off: every job sent there fails with SSH_ERROR and the same message, not retried.
    const alone = writeUserConfig(work, 'rig2-only.json', { nodes: [configNodes[2]], preflight: { enabled: false } });
    const refused = await runCli(
      [
        'run',
        '--jobs-file',
        writeJobs(work, 'hostkey-jobs2.json', jobs('refused', 2)),
        '--preserve-paths',
        '--config',
        alone,
        '--output-dir',
        join(work, 'results'),
      ],
      { ...env, home },
    );
    expect(refused.exitCode, refused.stderr).toBe(1);
    for (const job of refused.results!.jobs) {
      expect(job).toMatchObject({ failure_mode: 'SSH_ERROR', attempt: 1 });
      expectHostKeyMessage(job.error);
    }
    expect(readTrialRecords(rigs.rigs[1].workDir).filter((r) => /^(hostkey|refused)/.test(r.argv[1] ?? ''))).toEqual([]);
  });
});

describe.skipIf(inChaosRun)('pre-flight, once per run', () => {
  it('reports every node, clears the HIP kernel cache on ROCm rigs and warms up one GPU at a time', async () => {
    const cache = `/home/${rigs.user}/.cache/hip`;
    execFileSync('runuser', ['-u', rigs.user, '--', 'sh', '-c', `mkdir -p ${cache} && echo stale > ${cache}/kernel.bin`]);
    const warmup = 'python3 fake_trial.py --job warmup-{gpu} --sleep 0.3 --gpu-id {gpu}';
    const config = writeUserConfig(work, 'preflight.json', { nodes: [configNodes[0], { ...configNodes[1], warmup_command: warmup }] });
    const run = await runCli(
      [
        'run',
        '--jobs-file',
        writeJobs(work, 'preflight-jobs.json', jobs('pre', 4)),
        '--preserve-paths',
        '--config',
        config,
        '--output-dir',
        join(work, 'results'),
      ],
      env,
    );
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
    const run = await runCli(
      [
        'run',
        '--jobs-file',
        writeJobs(work, 'phantom-jobs.json', jobs('ph', 3)),
        '--preserve-paths',
        '--config',
        config,
        '--output-dir',
        join(work, 'results'),
      ],
      env,
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results!.jobs.map((j) => j.node)).toEqual([rigs.rigs[0].address, rigs.rigs[0].address, rigs.rigs[0].address]);
    expect(run.results!.warnings).toEqual([expect.stringMatching(/^pre-flight: 10\.231\.0\.99 left out of this sweep: unreachable/)]);
    expect(run.stdout).toMatch(/^\[PREFLIGHT\] 10\.231\.0\.99: unreachable/m);
    await recordHistory(env, run.results!.workflow_id, 'preflight-node-left-out');
    const strict = writeUserConfig(work, 'phantom-strict.json', { nodes: [configNodes[1], phantom], preflight: { required: true } });
    const failed = await runCli(
      [
        'run',
        '--jobs-file',
        writeJobs(work, 'phantom-jobs2.json', jobs('strict', 2)),
        '--preserve-paths',
        '--config',
        strict,
        '--output-dir',
        join(work, 'results'),
      ],
      env,
    );
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('pre-flight failed: 10.231.0.99');
    expect(readTrialRecords(rigs.rigs[0].workDir).filter((r) => r.argv[1]?.startsWith('strict'))).toEqual([]);
  });
});

describe.skipIf(inChaosRun)('the reset between batches', () => {
  it('is a warning in the result when sudo refuses, never fatal', async () => {
    const refuse = join(rigs.rigs[0].diskDir, 'sudo-fails');
    writeFileSync(refuse, '');
    try {
      const config = writeUserConfig(work, 'two-batches.json', {
        nodes: configNodes.slice(1),
        job_batching: { max_jobs_per_batch: 2, max_jobs_per_node_per_batch: 1, inter_batch_cooldown_seconds: 0.5 },
      });
      const run = await runCli(
        [
          'run',
          '--jobs-file',
          writeJobs(work, 'reset-jobs.json', jobs('reset', 3)),
          '--preserve-paths',
          '--config',
          config,
          '--output-dir',
          join(work, 'results'),
        ],
        env,
      );
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

describe('Ctrl-C on rigsweep run', () => {
  it('cancels the sweep, kills every trial process on every node and exits 3', async () => {
    const config = writeUserConfig(work, 'cancel.json', { nodes: configNodes });
    let interruptedAt = 0;
    let afterCancel: Promise<AfterCancel> | undefined;
    const run = await runCli(
      [
        'run',
        '--jobs-file',
        writeJobs(work, 'cancel-jobs.json', jobs('cancel', 6, '120')),
        '--preserve-paths',
        '--config',
        config,
        '--output-dir',
        join(work, 'results'),
      ],
      env,
      {
        onSpawn: (child) => {
          const poll = setInterval(() => {
            if (runsOf('cancel').length >= 6) {
              clearInterval(poll);
              interruptedAt = Date.now();
              child.kill('SIGINT');
              afterCancel = watchAfterCancel('cancel', interruptedAt);
            }
          }, 200);
        },
      },
    );
    expect(run.exitCode, run.stderr).toBe(3);
    expect(Date.now() - interruptedAt).toBeLessThan(15_000);
    const id = /started sweep (\S+)/.exec(run.stderr)![1];
    await recordHistory(env, id, 'cancelled-mid-batch');
    const after = await afterCancel!;
    const row = await reportCancel('cancel (Ctrl-C on run)', 'cancel', 6, id, after);
    expect(runsOf('cancel')).toHaveLength(6);
    expect(row).toMatchObject({ lost: 0, twiceAtOnce: 0, orphans: 0 });
    // The partial Results JSON still comes last: nothing had finished.
    expect(run.results).toMatchObject({ status: 'partial', total_jobs: 6, successful: 0, stopped_reason: expect.stringContaining('cancelled') as unknown });
  });
});

describe('a sweep started elsewhere', () => {
  it('rigsweep status shows where it is, rigsweep cancel stops it and kills every trial process', async () => {
    const config = writeUserConfig(work, 'elsewhere.json', { nodes: configNodes });
    const worker = await startWorkerProcess(config, env, work);
    try {
      const start = await runCli(
        [
          'start',
          '--jobs-file',
          writeJobs(work, 'remote-jobs.json', jobs('remote', 6, '120')),
          '--preserve-paths',
          '--config',
          config,
          '--output-dir',
          join(work, 'results'),
        ],
        env,
      );
      expect(start.exitCode, start.stderr).toBe(0);
      const id = start.stdout.trim();
      await waitUntil('six trials to run', () => runsOf('remote').length >= 6, 20_000);
      const status = await runCli(['status', id], env);
      expect(status.exitCode, status.stderr).toBe(0);
      expect(status.stdout).toContain(`${id}: RUNNING, running, batch 1/1, 0/6 done (0 failed, 6 running, 0 retried)`);
      // Temporal Web's "current details" of the sweep say the same.
      const metadata = await temporalCli(['workflow', 'metadata', '--workflow-id', id], env);
      expect(metadata.stdout + metadata.stderr).toContain('batch 1/1 running: 0/6 done, 0 failed, 6 running');
      const cancelledAt = Date.now();
      const afterCancel = watchAfterCancel('remote', cancelledAt);
      const cancel = await runCli(['cancel', id], env);
      expect([cancel.exitCode, cancel.stderr]).toEqual([0, expect.stringContaining(`${id} cancelled`)]);
      expect(Date.now() - cancelledAt).toBeLessThan(15_000);
      // `rigsweep cancel` returns once the trials are killed: none may be left when it does.
      expect(
        liveTrialProcesses(
          runsOf('remote').map((run) => run.startRecord.pid),
          'remote',
        ),
      ).toEqual([]);
      const after = await afterCancel;
      const row = await reportCancel('cancel (rigsweep cancel)', 'remote', 6, id, after);
      expect(row).toMatchObject({ lost: 0, twiceAtOnce: 0, orphans: 0 });
      expect((await runCli(['status', id], env)).stdout).toContain(`${id}: CANCELLED`);
      expect((await runCli(['status', 'no-such-sweep'], env)).exitCode).toBe(2);
    } finally {
      await worker.stop();
    }
  });

  it('temporal workflow cancel in the second batch kills its trial and keeps every finished job on record', async () => {
    // Two nodes, one job each per batch: two short jobs, then a short and a long one. The cancel
    // comes once the second batch's short job has finished, while its long one runs.
    const config = writeUserConfig(work, 'temporal-cancel.json', {
      nodes: configNodes.slice(0, 2),
      job_batching: { max_jobs_per_batch: 2, max_jobs_per_node_per_batch: 1, inter_batch_cooldown_seconds: 0 },
    });
    const sweepJobs = [...jobs('tcancel', 4).slice(0, 3), ...jobs('tcancel', 4, '120').slice(3)];
    const isLong = (run: TrialRun) => run.jobId === 'tcancel3';
    const worker = await startWorkerProcess(config, env, work);
    try {
      const start = await runCli(
        [
          'start',
          '--jobs-file',
          writeJobs(work, 'tcancel-jobs.json', sweepJobs),
          '--preserve-paths',
          '--config',
          config,
          '--output-dir',
          join(work, 'results'),
        ],
        env,
      );
      expect(start.exitCode, start.stderr).toBe(0);
      const id = start.stdout.trim();
      await waitUntil(
        "the long trial to run and the second batch's short one to end",
        () => runsOf('tcancel').filter(isLong).length === 1 && runsOf('tcancel').filter((run) => run.endRecord).length === 3,
        30_000,
      );
      const cancelledAt = Date.now();
      const afterCancel = watchAfterCancel('tcancel', cancelledAt);
      const cancel = await temporalCli(['workflow', 'cancel', '--workflow-id', id], env);
      expect(cancel.exitCode, cancel.stderr).toBe(0);
      const ended = await sweepResult(env, id).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(ended).toBeInstanceOf(WorkflowFailedError);
      expect((ended as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      const after = await afterCancel;
      // Not vacuous here: three jobs finished, one of them in the cancelled batch; all must be on record.
      const row = await reportCancel('cancel (temporal workflow cancel)', 'tcancel', sweepJobs.length, id, after);
      expect(row).toMatchObject({ lost: 0, twiceAtOnce: 0, orphans: 0 });
      expect(
        runsOf('tcancel')
          .map((run) => [run.jobId, run.endRecord?.exit_code ?? run.endRecord?.signal])
          .sort(),
      ).toEqual([
        ['tcancel0', 0],
        ['tcancel1', 0],
        ['tcancel2', 0],
        ['tcancel3', 'SIGTERM'],
      ]);
      await recordHistory(env, id, 'cancelled-after-finished-jobs');
      const partial = readJson<ResultsJson>(join(runFolder(join(work, 'results'), id), 'sweep_results.json'));
      expect(partial).toMatchObject({ status: 'partial', total_jobs: 4, successful: 3, stopped_reason: expect.stringContaining('cancelled') as unknown });
    } finally {
      await worker.stop();
    }
  });
});
