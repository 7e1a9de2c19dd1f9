/**
 * The three ways to cancel a sweep, through the real CLI and sshd rigs — Ctrl-C on `run`,
 * `rigsweep cancel`, `temporal workflow cancel` — each of which leaves no trial process behind and
 * keeps every finished job on record. Fault tests: `npm run chaos` runs them too.
 */
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeConfig } from '../../src/shared/config';
import type { ResultsJson } from '../../src/shared/results';
import {
  type AfterCancel,
  type ChaosRow,
  jobsFinishedButNotRecorded,
  jobsRunTwiceAtOnce,
  liveTrialProcesses,
  reportChaos,
  watchTrialsAfterCancel,
} from '../harness/chaos-report';
import { readJson } from '../harness/read-json';
import { type TestRigs } from '../harness/rigs';
import { recordHistory, runCli, startWorkerProcess, sweepResult, temporalCli, type CliEnv, sweepArgs } from '../harness/cli';
import {
  collectRuns,
  fakeTrialJobs,
  startTestCluster,
  waitUntil,
  writeJobs,
  writeUserConfig,
  type NodeUnderTest,
  type TrialRun,
  runFolder,
} from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configNodes: NodeConfig[];

beforeAll(async () => {
  ({ work, rigs, env, nodes, configNodes } = await startTestCluster('cancels', inject('temporalAddress'), {
    rigCount: 2,
    localGpus: 2,
    rigGpus: 2,
    stagger: 0.2,
  }));
});

afterAll(async () => {
  await rigs?.stop();
});

const jobs = (prefix: string, count: number, sleep = '0.2') => fakeTrialJobs(prefix, count, sleep);

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

describe('Ctrl-C on rigsweep run', () => {
  it('cancels the sweep, kills every trial process on every node and exits 3', async () => {
    const config = writeUserConfig(work, 'cancel.json', { nodes: configNodes });
    let interruptedAt = 0;
    let afterCancel: Promise<AfterCancel> | undefined;
    const run = await runCli(sweepArgs('run', writeJobs(work, 'cancel-jobs.json', jobs('cancel', 6, '120')), config, join(work, 'results')), env, {
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
    });
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
      const start = await runCli(sweepArgs('start', writeJobs(work, 'remote-jobs.json', jobs('remote', 6, '120')), config, join(work, 'results')), env);
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
      const start = await runCli(sweepArgs('start', writeJobs(work, 'tcancel-jobs.json', sweepJobs), config, join(work, 'results')), env);
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
